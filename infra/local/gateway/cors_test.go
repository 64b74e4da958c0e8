package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

const (
	dashboard = "http://localhost:5173" // one of the local stack's default allowed origins
	stranger  = "https://evil.example"  // allowed nowhere
)

// localOrigins is the AllowedOrigins parameter as the local stack deploys it.
var localOrigins = map[string]string{"AllowedOrigins": dashboard + ",http://127.0.0.1:5173"}

// behindCORS serves a function stand-in behind the CORS rules of the template at path. The
// stand-in counts its invocations and sets CORS headers of its own, which API Gateway ignores.
func behindCORS(t *testing.T, path string, params map[string]string) (http.Handler, *atomic.Int32) {
	t.Helper()
	calls := new(atomic.Int32)
	fn := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Headers", "X-Leaked")
		w.Header().Set("X-Request-Id", "req_1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{}`))
	})
	h, err := gateway.WithCORS(fn, path, params)
	if err != nil {
		t.Fatal(err)
	}
	return h, calls
}

func repoTemplate(t *testing.T) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), "template.yaml")
}

// corsHeaders are the response's Access-Control-* headers and Vary, joined.
func corsHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
			out[k] = strings.Join(v, ", ")
		}
	}
	return out
}

func sameHeaders(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s: %q", k, v)
		}
	}
}

// The repository's template, as API Gateway applies it: every case of a preflight and of an
// actual request, from an allowed origin, a disallowed one and none.
func TestCORSFromTemplate(t *testing.T) {
	allowedPreflight := map[string]string{
		"Access-Control-Allow-Origin":      dashboard,
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET,POST,PUT,PATCH,DELETE",
		"Access-Control-Allow-Headers":     "Content-Type,Authorization",
		"Access-Control-Max-Age":           "600",
		"Vary":                             "Origin",
	}
	allowedActual := map[string]string{
		"Access-Control-Allow-Origin":      dashboard,
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Expose-Headers":    "Retry-After,X-Request-Id,Content-Disposition",
		"Vary":                             "Origin",
	}
	tests := []struct {
		name        string
		method      string
		path        string
		header      map[string]string
		wantStatus  int
		wantInvoked bool
		wantCORS    map[string]string
	}{
		{"preflight from the dashboard", "OPTIONS", "/v1/sources",
			map[string]string{"Origin": dashboard, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,authorization"},
			http.StatusNoContent, false, allowedPreflight},
		{"preflight from the dashboard's other loopback name", "OPTIONS", "/v1/account",
			map[string]string{"Origin": "http://127.0.0.1:5173", "Access-Control-Request-Method": "DELETE"},
			http.StatusNoContent, false, map[string]string{
				"Access-Control-Allow-Origin": "http://127.0.0.1:5173", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE", "Access-Control-Allow-Headers": "Content-Type,Authorization",
				"Access-Control-Max-Age": "600", "Vary": "Origin",
			}},
		{"preflight of a route that does not exist", "OPTIONS", "/v1/nowhere",
			map[string]string{"Origin": dashboard, "Access-Control-Request-Method": "GET"},
			http.StatusNoContent, false, allowedPreflight},
		{"preflight from a disallowed origin", "OPTIONS", "/v1/sources",
			map[string]string{"Origin": stranger, "Access-Control-Request-Method": "POST"},
			http.StatusNoContent, false, map[string]string{}},
		{"preflight from an origin differing only by a trailing slash", "OPTIONS", "/v1/sources",
			map[string]string{"Origin": dashboard + "/", "Access-Control-Request-Method": "POST"},
			http.StatusNoContent, false, map[string]string{}},
		{"preflight from the dashboard's host on another port", "OPTIONS", "/v1/sources",
			map[string]string{"Origin": "http://localhost:5174", "Access-Control-Request-Method": "POST"},
			http.StatusNoContent, false, map[string]string{}},
		{"OPTIONS without Access-Control-Request-Method is no preflight", "OPTIONS", "/v1/sources",
			map[string]string{"Origin": dashboard},
			http.StatusOK, true, allowedActual},
		{"actual request from the dashboard", "POST", "/v1/sources",
			map[string]string{"Origin": dashboard},
			http.StatusOK, true, allowedActual},
		{"actual request from a disallowed origin", "GET", "/v1/account",
			map[string]string{"Origin": stranger},
			http.StatusOK, true, map[string]string{}},
		{"request without Origin (curl, a server)", "GET", "/v1/account",
			nil,
			http.StatusOK, true, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, calls := behindCORS(t, repoTemplate(t), localOrigins)
			req := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if invoked := calls.Load() > 0; invoked != tt.wantInvoked {
				t.Errorf("function invoked: %v, want %v", invoked, tt.wantInvoked)
			}
			if tt.wantStatus == http.StatusNoContent && rec.Body.Len() != 0 {
				t.Errorf("preflight answered with a body: %q", rec.Body.String())
			}
			sameHeaders(t, corsHeaders(rec.Header()), tt.wantCORS)
		})
	}
}

// The gateway follows the template, not a copy of it: a copy with other values changes every
// header they feed, and a different AllowedOrigins value changes who is let in.
func TestCORSFollowsTheTemplate(t *testing.T) {
	orig, err := os.ReadFile(repoTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(t *testing.T, pairs ...string) string {
		t.Helper()
		s := string(orig)
		for i := 0; i < len(pairs); i += 2 {
			if strings.Count(s, pairs[i]) != 1 {
				t.Fatalf("template.yaml holds %q %d times, want once", pairs[i], strings.Count(s, pairs[i]))
			}
			s = strings.Replace(s, pairs[i], pairs[i+1], 1)
		}
		path := filepath.Join(t.TempDir(), "template.yaml")
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	preflight := map[string]string{"Origin": dashboard, "Access-Control-Request-Method": "POST"}
	tests := []struct {
		name   string
		edits  []string
		params map[string]string
		method string
		header map[string]string
		want   map[string]string // headers that must have these values ("" = absent)
	}{
		{"allowed headers", []string{"AllowHeaders: [Content-Type, Authorization]", "AllowHeaders: [Content-Type, Authorization, X-Trace]"},
			localOrigins, "OPTIONS", preflight, map[string]string{"Access-Control-Allow-Headers": "Content-Type,Authorization,X-Trace"}},
		{"allowed methods", []string{"AllowMethods: [GET, POST, PUT, PATCH, DELETE]", "AllowMethods: [GET, POST]"},
			localOrigins, "OPTIONS", preflight, map[string]string{"Access-Control-Allow-Methods": "GET,POST"}},
		{"max age", []string{"MaxAge: 600", "MaxAge: 42"},
			localOrigins, "OPTIONS", preflight, map[string]string{"Access-Control-Max-Age": "42"}},
		{"no max age", []string{"MaxAge: 600", "MaxAge: 0"},
			localOrigins, "OPTIONS", preflight, map[string]string{"Access-Control-Max-Age": ""}},
		{"credentials off", []string{"AllowCredentials: true", "AllowCredentials: false"},
			localOrigins, "GET", map[string]string{"Origin": dashboard},
			map[string]string{"Access-Control-Allow-Credentials": "", "Access-Control-Allow-Origin": dashboard}},
		{"exposed headers", []string{"ExposeHeaders: [Retry-After, X-Request-Id, Content-Disposition]", "ExposeHeaders: [X-Request-Id]"},
			localOrigins, "GET", map[string]string{"Origin": dashboard}, map[string]string{"Access-Control-Expose-Headers": "X-Request-Id"}},
		{"origins given as a literal list", []string{"AllowOrigins: !Ref AllowedOrigins", "AllowOrigins: [https://app.example.com]"},
			localOrigins, "OPTIONS", preflight, map[string]string{"Access-Control-Allow-Origin": ""}},
		{"another AllowedOrigins value", nil,
			map[string]string{"AllowedOrigins": "https://app.example.com"}, "OPTIONS",
			map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"},
			map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{"the dashboard not among AllowedOrigins", nil,
			map[string]string{"AllowedOrigins": "https://app.example.com"}, "GET", map[string]string{"Origin": dashboard},
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": ""}},
		{"no CorsConfiguration: no preflight answer, the function's own CORS headers still dropped",
			[]string{"      CorsConfiguration:\n", "      XCorsConfiguration:\n"}, localOrigins, "GET",
			map[string]string{"Origin": dashboard}, map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Headers": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := edit(t, tt.edits...)
			h, _ := behindCORS(t, path, tt.params)
			req := httptest.NewRequest(tt.method, "/v1/sources", nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			for k, v := range tt.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// The whole local API, as `make run` serves it, answers a browser on the dashboard's origin as
// API Gateway would: the preflight without reaching a function, the actual request with the
// headers a page may read, and a cookie session accepted from exactly the origins CORS lets in
// (one list feeds both).
func TestCORSOnTheLocalAPI(t *testing.T) {
	r := do(t, request{method: "OPTIONS", path: "/v1/logout", header: map[string]string{
		"Origin": dashboard, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}})
	if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != dashboard ||
		r.Header.Get("Access-Control-Allow-Credentials") != "true" || r.Header.Get("X-Request-Id") != "" {
		t.Fatalf("preflight: %d %v (a function's answer would carry X-Request-Id)", r.Status, r.Header)
	}
	r = do(t, request{method: "OPTIONS", path: "/v1/logout", header: map[string]string{"Origin": stranger, "Access-Control-Request-Method": "POST"}})
	if r.Status != http.StatusNoContent || len(corsHeaders(r.Header)) != 0 {
		t.Fatalf("preflight from a stranger: %d %v", r.Status, corsHeaders(r.Header))
	}

	// Deliberately without credentials: only the answer is checked against the contract.
	r = do(t, request{method: "GET", path: "/v1/account", header: map[string]string{"Origin": dashboard}, malformed: true})
	wantProblem(t, r, http.StatusUnauthorized, "unauthenticated")
	if r.Header.Get("Access-Control-Allow-Origin") != dashboard || !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Fatalf("a page on the dashboard could not read the problem's request id: %v", corsHeaders(r.Header))
	}
	if r = do(t, request{method: "GET", path: "/v1/account", header: map[string]string{"Origin": stranger}, malformed: true}); len(corsHeaders(r.Header)) != 0 {
		t.Fatalf("answer to a stranger carries CORS headers: %v", corsHeaders(r.Header))
	}

	// A credentialed fetch from the dashboard stores the session cookie only when the answer
	// names the origin and allows credentials; the cookie is host-only (__Host-: Secure, Path=/,
	// no Domain), so with the API on api.example.com and the dashboard on app.example.com (same
	// site) the browser sends it back to the API, and to nothing else.
	email, password := newAddress(t), strongPassword(t)
	signUpAndVerify(t, email, password)
	r = do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": password},
		header: map[string]string{"Origin": dashboard}})
	if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != dashboard || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("login from the dashboard: %d %v", r.Status, corsHeaders(r.Header))
	}
	cookie := sessionCookie(t, r)
	remember(cookie.Value)
	for _, origin := range theStack.Origins {
		pre := do(t, request{method: "OPTIONS", path: "/v1/sessions", header: map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET"}})
		if pre.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("CORS does not let in %s, an origin the functions accept", origin)
		}
	}
	r = do(t, request{method: "POST", path: "/v1/logout", cookie: cookie, header: map[string]string{"Origin": theStack.Origins[len(theStack.Origins)-1]}})
	if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != theStack.Origins[len(theStack.Origins)-1] {
		t.Fatalf("cookie logout from an allowed origin: %d %s %v", r.Status, r.Raw, corsHeaders(r.Header))
	}
}
