package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/atrium-cdn/atrium/infra/cfn"
	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

var unknownRoutes = []struct {
	name, method, path string
	status             int
	code, allow        string
}{
	{"unknown path", "GET", "/v1/nothing-here", http.StatusNotFound, "not_found", ""},
	{"the root", "GET", "/", http.StatusNotFound, "not_found", ""},
	{"unknown path, POST", "POST", "/v1/signup/extra", http.StatusNotFound, "not_found", ""},
	{"GET on a POST route", "GET", "/v1/login", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
	{"PUT on a source", "PUT", "/v1/sources/src_x", http.StatusMethodNotAllowed, "method_not_allowed", "DELETE, GET, HEAD, PATCH"},
}

// A request for a route no function serves is answered like every other
// problem: X-Request-Id, Cache-Control: no-store and a request_id in the
// document equal to the header (before, the gateway's own 404 and 405 had
// neither). The contract check sees the same answers against openapi.yaml.
func TestUnknownRoutesAreProblemsLikeEveryOther(t *testing.T) {
	for _, tc := range unknownRoutes {
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

// Deployed, API Gateway sends every request no route matches to the function
// of template.yaml's $default route; without one it would answer its own
// {"message":"Not Found"}, not the contract's problem. That function, alone
// as in Lambda, answers each unknown route exactly as the whole local API.
func TestDefaultRouteFunctionAnswersUnknownRoutes(t *testing.T) {
	api(t)
	tmpl, err := cfn.Load(filepath.Join(testenv.RepoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := tmpl.DefaultRouteFunction()
	if err != nil || id == "" {
		t.Fatalf("no function serves template.yaml's %s route (%v): API Gateway answers unknown routes itself", cfn.DefaultRoute, err)
	}
	var h http.Handler
	for _, fn := range gateway.HTTPFunctions {
		if fn.LogicalID == id {
			if h, err = fn.New(context.Background(), theStack.ColdstartEnv(fn.Name, logs, nil)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if h == nil {
		t.Fatalf("%s serves %s but is not an HTTP function of the gateway", id, cfn.DefaultRoute)
	}
	for _, tc := range unknownRoutes {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			var p struct {
				Code      string `json:"code"`
				RequestID string `json:"request_id"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &p)
			if w.Code != tc.status || p.Code != tc.code || w.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s answers %d %s %q, want %d %s", id, w.Code, w.Header().Get("Content-Type"), w.Body, tc.status, tc.code)
			}
			if allow := w.Header().Get("Allow"); allow != tc.allow {
				t.Errorf("Allow %q, want %q", allow, tc.allow)
			}
			if rid := w.Header().Get("X-Request-Id"); rid == "" || p.RequestID != rid || w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("X-Request-Id %q, request_id %q, Cache-Control %q", rid, p.RequestID, w.Header().Get("Cache-Control"))
			}
		})
	}
}
