package authapi

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

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// The cold start reads its secrets (SMTP login, client key, MFA key) at
// once, not one after another: each read is a round trip to Secrets
// Manager. A proxy in front of the local Secrets Manager holds every read
// until all are in flight (at most a second): read one after another, at
// most one ever is.
func TestColdStartReadsSecretsAtOnce(t *testing.T) {
	st := testenv.NewStack(t)
	env := st.Env("auth")
	upstream, err := url.Parse(env["AWS_ENDPOINT_URL_SECRETS_MANAGER"])
	if err != nil || upstream.Host == "" {
		t.Fatalf("local Secrets Manager endpoint %q: %v", env["AWS_ENDPOINT_URL_SECRETS_MANAGER"], err)
	}
	const want = 3
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
	defer srv.Close()
	env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = srv.URL

	if _, err := New(context.Background(), coldstart.Env{Getenv: func(k string) string { return env[k] }, Logs: io.Discard}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if total != want || peak != want {
		t.Fatalf("cold start: %d secret reads, at most %d at once; want %d, all at once", total, peak, want)
	}
}
