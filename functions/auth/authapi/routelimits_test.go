package authapi

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// TestRouteLimitsCountValidRequestsOnly: each route that declares a
// per-client limit counts a request only once its body is valid (any number
// of malformed bodies are refused without using the allowance), then answers
// the API's one rate-limit problem; forgot and reset share one counter.
func TestRouteLimitsCountValidRequestsOnly(t *testing.T) {
	two := throttle.Limit{Max: 2, Window: time.Minute}
	f := newFixtureWith(t, &testenv.LogBuffer{}, options{limits: &Limits{Login: two, Signup: two, Verify: two, Password: two}})
	const token = "bm90LWEtcmVhbC10b2tlbi1qdXN0LWZvci10aGUtbGltaXQ"
	cases := []struct {
		name, path, valid, malformed string
		allowed                      int
	}{
		{"signup", "/v1/signup", signupBody(testenv.Email(t)), `{"email":"not an address"}`, http.StatusAccepted},
		{"verify", "/v1/signup/verify", `{"token":"` + token + `","password":"` + strong + `"}`, `{"token":"","password":"` + strong + `"}`, http.StatusBadRequest},
		{"forgot", "/v1/password/forgot", signupBody(testenv.Email(t)), `{"email":""}`, http.StatusAccepted},
		{"reset", "/v1/password/reset", `{"token":"` + token + `","new_password":"` + strong + `"}`, `{"token":"` + token + `","new_password":""}`, http.StatusBadRequest},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ip := fmt.Sprintf("198.51.100.%d", 50+i)
			for n := range 5 {
				if s, _, out := f.call(t, http.MethodPost, tc.path, tc.malformed, ip, ""); s != http.StatusBadRequest || out["code"] != "validation_failed" {
					t.Fatalf("malformed request %d: %d %v", n+1, s, out)
				}
			}
			for n := range two.Max {
				if s, _, out := f.call(t, http.MethodPost, tc.path, tc.valid, ip, ""); s != tc.allowed {
					t.Fatalf("valid request %d after the malformed ones: %d %v", n+1, s, out)
				}
			}
			s, ra, out := f.call(t, http.MethodPost, tc.path, tc.valid, ip, "")
			if s != http.StatusTooManyRequests || out["code"] != "rate_limited" || ra < 1 ||
				out["detail"] != "Too many requests from your network. Wait and try again." {
				t.Fatalf("over the limit: %d Retry-After %d %v", s, ra, out)
			}
		})
	}
	t.Run("forgot and reset share a counter", func(t *testing.T) {
		const ip = "198.51.100.70"
		for range two.Max {
			if s, _, out := f.call(t, http.MethodPost, "/v1/password/forgot", signupBody(testenv.Email(t)), ip, ""); s != http.StatusAccepted {
				t.Fatalf("forgot: %d %v", s, out)
			}
		}
		if s, _, out := f.call(t, http.MethodPost, "/v1/password/reset", cases[3].valid, ip, ""); s != http.StatusTooManyRequests {
			t.Fatalf("reset after the forgot requests used the allowance: %d %v", s, out)
		}
	})
}
