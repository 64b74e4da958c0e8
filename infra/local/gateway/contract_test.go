package gateway_test

import (
	"net/http"
	"testing"
)

// A request for a route no function serves is answered like every other
// problem: X-Request-Id, Cache-Control: no-store and a request_id in the
// document equal to the header (before, the gateway's own 404 and 405 had
// neither). The contract check sees the same answers against openapi.yaml.
func TestUnknownRoutesAreProblemsLikeEveryOther(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{"unknown path", "GET", "/v1/nothing-here", http.StatusNotFound, "not_found", ""},
		{"the root", "GET", "/", http.StatusNotFound, "not_found", ""},
		{"unknown path, POST", "POST", "/v1/signup/extra", http.StatusNotFound, "not_found", ""},
		{"GET on a POST route", "GET", "/v1/login", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{"PUT on a source", "PUT", "/v1/sources/src_x", http.StatusMethodNotAllowed, "method_not_allowed", "DELETE, GET, HEAD, PATCH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, request{method: tc.method, path: tc.path})
			wantProblem(t, r, tc.status, tc.code)
			if id := r.Header.Get("X-Request-Id"); id == "" || r.str("request_id") != id {
				t.Errorf("X-Request-Id %q, request_id %q: want both, equal", id, r.str("request_id"))
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			if allow := r.Header.Get("Allow"); allow != tc.allow {
				t.Errorf("Allow %q, want %q", allow, tc.allow)
			}
		})
	}
}
