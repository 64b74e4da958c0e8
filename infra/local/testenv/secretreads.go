package testenv

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// ColdStartReadsSecretsAtOnce builds function (its constructor given the
// local stack's environment for it) behind SecretReads and fails t unless
// it read exactly want secrets, all at once: each read is a round trip to
// Secrets Manager, the longest part of a cold start in AWS.
func ColdStartReadsSecretsAtOnce(t *testing.T, function string, want int,
	build func(context.Context, coldstart.Env) error) {
	t.Helper()
	env := NewStack(t).Env(function)
	count := SecretReads(t, env, want)
	if err := build(context.Background(), coldstart.Env{Getenv: func(k string) string { return env[k] }, Logs: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if total, peak := count(); total != want || peak != want {
		t.Fatalf("%s cold start: %d secret reads, at most %d at once; want %d, all at once", function, total, peak, want)
	}
}

// SecretReads puts a proxy in front of the local Secrets Manager of env (a
// function's environment from Stack.Env, changed in place to point at it)
// that holds every read until want reads are in flight, or a second has
// passed. A cold start that reads its secrets one after another therefore
// never has more than one in flight. Count tells how many reads there were
// and the most in flight at once.
func SecretReads(t testing.TB, env map[string]string, want int) (count func() (total, peak int)) {
	t.Helper()
	upstream, err := url.Parse(env["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
	if err != nil || upstream.Host == "" {
		t.Fatalf("local Secrets Manager endpoint %q: %v", env["AWS_ENDPOINT_URL_SECRETS_MANAGER"], err)
	}
	var (
		mu                    sync.Mutex
		inFlight, peak, total int
	)
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		total++
		peak = max(peak, inFlight)
		mu.Unlock()
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			mu.Lock()
			n := inFlight
			mu.Unlock()
			if n >= want {
				break
			}
		}
		proxy.ServeHTTP(w, r)
		mu.Lock()
		inFlight--
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = srv.URL
	return func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return total, peak
	}
}
