package runner_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/deletion/runner"
)

// BenchmarkAccountDeletion measures one whole deletion (accept, then every
// step) of an account holding two sessions, two pending tokens, two
// sources with their secrets, a Stripe customer (a double), a failed-login
// counter and 30 request-log items, against DynamoDB Local and the local
// Secrets Manager, side by side in one run: the runner with its steps one
// after another (Parallelism 1, the order before issue 17) and with its
// default parallelism, alternating which goes first on each iteration, two
// accounts of the same shape each time. It reports the milliseconds and the
// DynamoDB calls (retries not counted) of a deletion in each mode, and the
// ratio of their times.
//
// DynamoDB Local answers on the loopback, so a call costs its CPU time and
// little else, and on a busy machine steps run at once mostly share that
// CPU; in AWS a call is a network round trip of a few milliseconds that
// steps running at once overlap. The second case adds 3 ms to every
// DynamoDB call to show that (a model, not a measurement of AWS):
//
//	go run ./infra/local/cmd/atrium-local exec -- go test -run '^$' -bench AccountDeletion -benchtime 20x ./shared/deletion/runner/
func BenchmarkAccountDeletion(b *testing.B) {
	f := newFixture(b)
	for _, rtt := range []time.Duration{0, 3 * time.Millisecond} {
		name := "local"
		if rtt > 0 {
			name = "plus_" + rtt.String() + "_a_call"
		}
		b.Run(name, func(b *testing.B) {
			f.latency.Store(int64(rtt))
			defer f.latency.Store(0)
			benchmarkDeletion(b, f)
		})
	}
}

func benchmarkDeletion(b *testing.B, f *fixture) {
	ctx := context.Background()
	sequential, parallel := *f.runner, *f.runner
	sequential.Parallelism, parallel.Parallelism = 1, 0
	modes := []struct {
		name   string
		r      *runner.Runner
		total  time.Duration
		calls  int64
		counts string
	}{{name: "sequential", r: &sequential}, {name: "parallel", r: &parallel}}
	i := 0
	for b.Loop() {
		b.StopTimer()
		rtt := f.latency.Swap(0)
		owned := []*owned{f.populate(b), f.populate(b)}
		f.latency.Store(rtt)
		b.StartTimer()
		for k := range modes {
			m := &modes[(k+i)%2]
			calls := f.calls.Load()
			start := time.Now()
			job, _, err := f.jobs.Accept(ctx, owned[k].acct)
			if err != nil {
				b.Fatal(err)
			}
			done, err := m.r.Run(ctx, job.ID)
			if err != nil || done.Status != "done" {
				b.Fatal(err)
			}
			m.total += time.Since(start)
			m.calls += f.calls.Load() - calls
			m.counts = fmt.Sprint(done.Steps, done.Deleted)
		}
		i++
	}
	if modes[0].counts != modes[1].counts {
		b.Fatalf("receipts differ: sequential %s, parallel %s", modes[0].counts, modes[1].counts)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	for _, m := range modes {
		b.ReportMetric(ms(m.total), m.name+"-ms/deletion")
		b.ReportMetric(float64(m.calls)/float64(b.N), m.name+"-dynamodb-calls/deletion")
	}
	b.ReportMetric(ms(modes[1].total)/ms(modes[0].total), "parallel/sequential")
	b.ReportMetric(0, "ns/op") // two deletions an iteration: the metrics above are per deletion
}
