package testenv

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

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
