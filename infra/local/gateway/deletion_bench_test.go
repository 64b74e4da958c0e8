package gateway_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkDeletionStartsAtAcceptance measures, for an account with the usual
// data (two sessions, a source with its secret, request logs, a Stripe
// customer from a checkout), the time from DELETE /v1/account's 202 to the
// receipt being done, with nobody driving the job: the state table's stream
// (polled as Lambda polls it) starts it. It reports the median and the
// maximum over the iterations:
//
//	go run ./infra/local/cmd/atrium-local exec -- go test -run '^$' -bench DeletionStartsAtAcceptance -benchtime 10x ./infra/local/gateway/
func BenchmarkDeletionStartsAtAcceptance(b *testing.B) {
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		email, pass := newAddress(b), strongPassword(b)
		token, _ := signUpAndVerify(b, email, pass)
		if r := do(b, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": pass}}); r.Status != http.StatusOK {
			b.Fatalf("login: %d %s", r.Status, r.Raw)
		}
		keyID, secret := "AKIABENCHDELETION001", "bench-deletion-secret-0123456789abcdefgh"
		endpoint, _ := readableBucket(b, "bench", keyID, secret)
		if r := do(b, request{method: "POST", path: "/v1/sources", header: bearer(token), body: map[string]any{
			"name": "bench", "type": "s3_compatible", "bucket": "bench", "region": "us-east-1",
			"endpoint": endpoint, "access_key_id": keyID, "secret_access_key": secret}}); r.Status != http.StatusCreated {
			b.Fatalf("source: %d %s", r.Status, r.Raw)
		}
		if r := do(b, request{method: "POST", path: "/v1/billing/checkout", header: bearer(token), body: map[string]string{"plan": "premium"}}); r.Status != http.StatusOK {
			b.Fatalf("checkout: %d %s", r.Status, r.Raw)
		}
		for range 5 {
			do(b, request{method: "GET", path: "/v1/account", header: bearer(token)})
		}
		b.StartTimer()
		r := do(b, request{method: "DELETE", path: "/v1/account", header: bearer(token), body: map[string]string{"password": pass}})
		accepted := time.Now()
		if r.Status != http.StatusAccepted {
			b.Fatalf("delete: %d %s", r.Status, r.Raw)
		}
		waitForReceipt(b, r.str("deletion", "status_url"))
		took = append(took, time.Since(accepted))
	}
	slices.Sort(took)
	median, maxi := took[len(took)/2], took[len(took)-1]
	b.ReportMetric(float64(median.Milliseconds()), "median-ms/receipt")
	b.ReportMetric(float64(maxi.Milliseconds()), "max-ms/receipt")
	b.Logf("202 to receipt over %d deletions: median %s, max %s", len(took), median.Round(time.Millisecond), maxi.Round(time.Millisecond))
}
