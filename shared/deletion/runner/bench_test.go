package runner_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkAccountDeletion measures one whole deletion (accept, then every
// step) of an account holding two sessions, two pending tokens, two
// sources with their secrets, a Stripe customer (a double), a failed-login
// counter and 30 request-log items, against DynamoDB Local and the local
// Secrets Manager:
//
//	go run ./infra/local/cmd/atrium-local exec -- go test -run '^$' -bench AccountDeletion -benchtime 20x ./shared/deletion/runner/
func BenchmarkAccountDeletion(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		o := f.populate(b)
		b.StartTimer()
		start := time.Now()
		job, _, err := f.jobs.Accept(ctx, o.acct)
		if err != nil {
			b.Fatal(err)
		}
		if done, err := f.runner.Run(ctx, job.ID); err != nil || done.Status != "done" {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/deletion")
}
