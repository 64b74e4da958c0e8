package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/web"
)

func TestWriteError(t *testing.T) {
	const cause = "dynamodb: ConditionalCheckFailed for alice@example.com password=hunter2 at 203.0.113.9"
	fields := []web.FieldError{{Field: "email", Code: "invalid", Detail: "is not an email address"}}
	tests := []struct {
		name       string
		err        error
		want       int
		wantCode   string
		wantDetail string // "" means the generic 500 message
		wantFields []web.FieldError
		retry      string // the Retry-After header, "" when absent
		logLevel   string // the level of the "request failed"/"request refused" line, "" when none
		causeShown bool   // whether the cause reaches the log (always redacted)
	}{
		{name: "client error", err: web.Errorf(http.StatusConflict, "email_taken", "That address is taken."),
			want: 409, wantCode: "email_taken", wantDetail: "That address is taken."},
		{name: "validation", err: web.Invalid(fields...),
			want: 400, wantCode: "validation_failed", wantDetail: "The request has invalid fields.", wantFields: fields},
		{name: "wrapped client error", err: fmt.Errorf("login: %w", web.Errorf(http.StatusUnauthorized, "invalid_credentials", "Wrong email or password.")),
			want: 401, wantCode: "invalid_credentials", wantDetail: "Wrong email or password."},
		{name: "client error with a cause", err: &web.Error{Status: 403, Code: "forbidden", Message: "No.", Cause: errors.New(cause)},
			want: 403, wantCode: "forbidden", wantDetail: "No.", logLevel: "WARN", causeShown: true},
		{name: "retry after, rounded up", err: &web.Error{Status: 429, Code: "rate_limited", Message: "Slow down.", RetryAfter: 1500 * time.Millisecond},
			want: 429, wantCode: "rate_limited", wantDetail: "Slow down.", retry: "2"},
		{name: "retry after, whole seconds", err: &web.Error{Status: 503, Code: "unavailable", Message: "Later.", RetryAfter: 30 * time.Second},
			want: 503, wantCode: "unavailable", wantDetail: "Later.", retry: "30", logLevel: "ERROR"},
		{name: "retry after, a nanosecond", err: &web.Error{Status: 429, Code: "rate_limited", Message: "Slow down.", RetryAfter: time.Nanosecond},
			want: 429, wantCode: "rate_limited", wantDetail: "Slow down.", retry: "1"},
		{name: "server *Error is logged", err: &web.Error{Status: 502, Code: "upstream_failed", Message: "Stripe failed.", Cause: errors.New(cause)},
			want: 502, wantCode: "upstream_failed", wantDetail: "Stripe failed.", logLevel: "ERROR", causeShown: true},
		{name: "plain error", err: errors.New(cause),
			want: 500, wantCode: "internal_error", logLevel: "ERROR", causeShown: true},
		{name: "wrapped plain error", err: fmt.Errorf("store: %w", errors.New(cause)),
			want: 500, wantCode: "internal_error", logLevel: "ERROR", causeShown: true},
		{name: "nil error", err: nil,
			want: 500, wantCode: "internal_error", logLevel: "ERROR"},
		{name: "*Error without a status", err: &web.Error{Code: "oops", Message: "Oops " + cause},
			want: 500, wantCode: "internal_error", logLevel: "ERROR"},
		{name: "*Error with a success status", err: &web.Error{Status: 200, Code: "fine", Message: "Fine " + cause},
			want: 500, wantCode: "internal_error", logLevel: "ERROR"},
		{name: "*Error with a redirect status", err: web.Errorf(302, "moved", "Moved."),
			want: 500, wantCode: "internal_error", logLevel: "ERROR"},
		{name: "*Error with an invalid status", err: web.Errorf(600, "odd", "Odd."),
			want: 500, wantCode: "internal_error", logLevel: "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := captureLogger()
			const id = "req_problemtest000000000000"
			req := httptest.NewRequest(http.MethodPost, "/v1/x", nil)
			req = req.WithContext(logging.WithRequestID(req.Context(), id))
			rec := httptest.NewRecorder()
			rec.Header().Set("X-Request-Id", id) // as Wrap would have
			web.WriteError(rec, req, logger, tt.err)

			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			p := problemOf(t, rec)
			if p.Code != tt.wantCode {
				t.Errorf("code %q, want %q", p.Code, tt.wantCode)
			}
			detail := tt.wantDetail
			if detail == "" {
				detail = "Something went wrong on our side. Try again later."
			}
			if p.Detail != detail {
				t.Errorf("detail %q, want %q", p.Detail, detail)
			}
			if !reflect.DeepEqual(p.Errors, tt.wantFields) {
				t.Errorf("errors %+v, want %+v", p.Errors, tt.wantFields)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retry {
				t.Errorf("Retry-After %q, want %q", got, tt.retry)
			}
			// The cause is never sent: not its words, not its personal data.
			mustNotContain(t, "response", rec.Body.String(), "dynamodb", "ConditionalCheckFailed", "hunter2", "alice", "203.0.113.9", "store:", "Oops", "Fine")

			lines := logLines(t, buf)
			if tt.logLevel == "" {
				if len(lines) != 0 {
					t.Errorf("want no log line, got:\n%s", buf)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("want one log line, got:\n%s", buf)
			}
			l := lines[0]
			if l["level"] != tt.logLevel || l["code"] != tt.wantCode || l["request_id"] != id {
				t.Errorf("log line %v, want level %s code %s", l, tt.logLevel, tt.wantCode)
			}
			errText, _ := l["error"].(string)
			if tt.causeShown && !strings.Contains(errText, "ConditionalCheckFailed") {
				t.Errorf("the cause is not logged: %v", l)
			}
			// ... and logged only redacted.
			mustNotContain(t, "log", buf.String(), "alice@example.com", "203.0.113.9")
		})
	}
}

func TestWriteErrorWithoutRequestID(t *testing.T) {
	logger, _ := captureLogger()
	rec := httptest.NewRecorder()
	web.WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), logger, web.Errorf(404, "not_found", "Nothing."))
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["request_id"]; ok {
		t.Errorf("request_id present without one: %s", rec.Body)
	}
	if _, ok := raw["errors"]; ok {
		t.Errorf("errors present without field errors: %s", rec.Body)
	}
	for _, k := range []string{"type", "title", "status", "detail", "code"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("problem lacks %q: %s", k, rec.Body)
		}
	}
}

func TestErrorString(t *testing.T) {
	cause := errors.New("disk on fire")
	tests := []struct {
		err  *web.Error
		want string
	}{
		{web.Errorf(404, "not_found", "No %s.", "source"), "not_found (404): No source."},
		{&web.Error{Status: 500, Code: "internal_error", Message: "Oops.", Cause: cause}, "internal_error (500): Oops.: disk on fire"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if !errors.Is(tests[1].err, cause) || errors.Unwrap(tests[0].err) != nil {
		t.Error("Unwrap does not expose the cause")
	}
	if e := web.Invalid(); e.Status != 400 || e.Code != "validation_failed" || e.Message == "" {
		t.Errorf("Invalid() = %+v", e)
	}
}

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		status int
		v      any
		want   string
	}{
		{http.StatusCreated, map[string]string{"account_id": "acct_x"}, `{"account_id":"acct_x"}`},
		{http.StatusOK, []int{1, 2}, `[1,2]`},
		{http.StatusAccepted, struct {
			CreatedAt time.Time `json:"created_at"`
		}{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, `{"created_at":"2026-01-02T03:04:05Z"}`},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		web.WriteJSON(rec, tt.status, tt.v)
		if rec.Code != tt.status || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		if got := strings.TrimSpace(rec.Body.String()); got != tt.want {
			t.Errorf("body %s, want %s", got, tt.want)
		}
	}
}

func TestRouterProblems(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		target    string
		want      int
		wantCode  string
		wantAllow string
	}{
		{"match", "POST", "/v1/login", 204, "", ""},
		{"GET route answers HEAD", "HEAD", "/v1/account", 204, "", ""},
		{"unknown path", "GET", "/v1/nope", 404, "not_found", ""},
		{"root", "GET", "/", 404, "not_found", ""},
		{"wrong method on a POST route", "GET", "/v1/login", 405, "method_not_allowed", "POST"},
		{"wrong method on a GET route", "DELETE", "/v1/account", 405, "method_not_allowed", "GET, HEAD"},
		{"wrong method on a two-method route", "PUT", "/v1/sources/src_1", 405, "method_not_allowed", "DELETE, GET, HEAD"},
		{"trailing slash is another path", "POST", "/v1/login/", 404, "not_found", ""},
		{"unclean path without a route", "GET", "/v1/../nope", 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, _ := captureLogger()
			rt := web.NewRouter(logger)
			noContent := func(w http.ResponseWriter, r *http.Request) error {
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
			rt.Handle("POST /v1/login", noContent)
			rt.Handle("GET /v1/account", noContent)
			rt.Handle("GET /v1/sources/{id}", noContent)
			rt.Handle("DELETE /v1/sources/{id}", noContent)
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))

			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
			if tt.wantCode == "" {
				return
			}
			p := problemOf(t, rec)
			if p.Code != tt.wantCode {
				t.Errorf("code %q, want %q", p.Code, tt.wantCode)
			}
			if tt.want == 405 && !strings.Contains(p.Detail, tt.method) {
				t.Errorf("detail %q does not name the method", p.Detail)
			}
		})
	}
}

func TestRouterMount(t *testing.T) {
	logger, _ := captureLogger()
	inner := web.NewRouter(logger)
	inner.Handle("GET /v1/account", func(w http.ResponseWriter, r *http.Request) error {
		web.WriteJSON(w, http.StatusOK, map[string]string{"route": r.Pattern})
		return nil
	})
	outer := web.NewRouter(logger)
	outer.Mount("GET /v1/account", web.Wrap(inner, web.Options{Logger: logger}))

	rec := httptest.NewRecorder()
	outer.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/account", nil).WithContext(context.Background()))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"GET /v1/account"`) {
		t.Fatalf("mounted handler: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	outer.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/account", nil))
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("outer 405: %d %v", rec.Code, rec.Header())
	}
}
