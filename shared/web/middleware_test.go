package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/web"
)

func TestWrapRequestIDAndHeaders(t *testing.T) {
	const lambdaID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
	tests := []struct {
		name     string
		lambdaID string // "" means no Lambda context
		clientID string // an X-Request-Id sent by the client: never trusted
		want     string // "" means a random req_ id
	}{
		{name: "outside Lambda", want: ""},
		{name: "Lambda request id", lambdaID: lambdaID, want: lambdaID},
		{name: "Lambda id with underscores", lambdaID: "abc_DEF-123", want: "abc_DEF-123"},
		{name: "Lambda id with a space", lambdaID: "abc 123"},
		{name: "Lambda id with a newline", lambdaID: "abc\n{\"level\":\"ERROR\"}"},
		{name: "Lambda id of 65 characters", lambdaID: strings.Repeat("a", 65)},
		{name: "Lambda id of 64 characters", lambdaID: strings.Repeat("a", 64), want: strings.Repeat("a", 64)},
		{name: "client header ignored", clientID: "req_chosenbytheclient00000"},
		{name: "client header ignored in Lambda", lambdaID: lambdaID, clientID: "forged", want: lambdaID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := captureLogger()
			var seen string
			h := web.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = logging.RequestID(r.Context())
				logger.InfoContext(r.Context(), "handler line")
				w.WriteHeader(http.StatusNoContent)
			}), web.Options{Logger: logger})

			req := httptest.NewRequest(http.MethodGet, "/v1/account", nil)
			if tt.lambdaID != "" {
				req = req.WithContext(lambdacontext.NewContext(req.Context(), &lambdacontext.LambdaContext{AwsRequestID: tt.lambdaID}))
			}
			if tt.clientID != "" {
				req.Header.Set("X-Request-Id", tt.clientID)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			id := rec.Header().Get("X-Request-Id")
			if tt.want != "" && id != tt.want {
				t.Errorf("X-Request-Id = %q, want %q", id, tt.want)
			}
			if tt.want == "" && !randomID.MatchString(id) {
				t.Errorf("X-Request-Id = %q, want a random req_ id", id)
			}
			if seen != id {
				t.Errorf("request id on the context %q, header %q", seen, id)
			}
			for name, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
				if got := rec.Header().Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			// Every line of the request carries the same id, as it is.
			lines := logLines(t, buf)
			if len(lines) != 2 {
				t.Fatalf("want the handler's line and the access line, got:\n%s", buf)
			}
			for _, l := range lines {
				if l["request_id"] != id {
					t.Errorf("log line request_id = %v, want %q: %v", l["request_id"], id, l)
				}
			}
		})
	}
}

func TestWrapRandomIDsDiffer(t *testing.T) {
	h := web.Wrap(http.NotFoundHandler(), web.Options{Logger: logging.New(io.Discard, nil)})
	seen := map[string]bool{}
	for range 50 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		id := rec.Header().Get("X-Request-Id")
		if seen[id] {
			t.Fatalf("request id %q given twice", id)
		}
		seen[id] = true
	}
}

type sizedBody struct {
	S string `json:"s"`
}

// jsonOfSize returns {"s":"xxx…"} of exactly n bytes (n >= 8).
func jsonOfSize(n int) string {
	return `{"s":"` + strings.Repeat("x", n-8) + `"}`
}

func TestWrapBodyLimit(t *testing.T) {
	tests := []struct {
		name    string
		maxBody int64
		size    int
		want    int
	}{
		{"default limit, body at the limit", 0, web.DefaultMaxBody, http.StatusOK},
		{"default limit, one byte over", 0, web.DefaultMaxBody + 1, http.StatusRequestEntityTooLarge},
		{"negative limit means the default", -1, web.DefaultMaxBody + 1, http.StatusRequestEntityTooLarge},
		{"small limit, body at the limit", 64, 64, http.StatusOK},
		{"small limit, one byte over", 64, 65, http.StatusRequestEntityTooLarge},
		{"small limit, far over", 64, 1 << 20, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := captureLogger()
			rt := web.NewRouter(logger)
			rt.Handle("POST /v1/echo", func(w http.ResponseWriter, r *http.Request) error {
				var in sizedBody
				if err := web.DecodeJSON(r, &in); err != nil {
					return err
				}
				web.WriteJSON(w, http.StatusOK, map[string]int{"len": len(in.S)})
				return nil
			})
			h := web.Wrap(rt, web.Options{Logger: logger, MaxBody: tt.maxBody})
			req := httptest.NewRequest(http.MethodPost, "/v1/echo", strings.NewReader(jsonOfSize(tt.size)))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			line := accessLine(t, buf)
			if tt.want == http.StatusOK {
				if line["code"] != "" {
					t.Errorf("access log code %v for a success", line["code"])
				}
				return
			}
			p := problemOf(t, rec)
			if p.Code != "body_too_large" {
				t.Errorf("code %q, want body_too_large", p.Code)
			}
			limit := tt.maxBody
			if limit <= 0 {
				limit = web.DefaultMaxBody
			}
			if !strings.Contains(p.Detail, fmt.Sprint(limit)) {
				t.Errorf("detail %q does not name the limit %d", p.Detail, limit)
			}
			if line["code"] != "body_too_large" || line["status"] != float64(413) {
				t.Errorf("access line %v, want status 413 code body_too_large", line)
			}
		})
	}
}

func TestWrapNilBody(t *testing.T) {
	h := web.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || len(b) != 0 {
			t.Errorf("ReadAll = %q, %v", b, err)
		}
		w.WriteHeader(http.StatusNoContent)
	}), web.Options{Logger: logging.New(io.Discard, nil)})
	req, err := http.NewRequest(http.MethodGet, "http://example.test/v1/account", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

type secretPanic struct{ Password string }

func TestWrapPanic(t *testing.T) {
	const secret = "hunter2-in-the-panic"
	tests := []struct {
		name       string
		value      any
		wantType   string
		writeFirst bool // the handler has already answered 202 when it panics
	}{
		{name: "string", value: "user alice@example.com password " + secret, wantType: "string"},
		{name: "error", value: fmt.Errorf("query failed for %s", secret), wantType: "error"},
		{name: "struct", value: secretPanic{Password: secret}, wantType: "other"},
		{name: "web error", value: web.Errorf(http.StatusTeapot, "teapot", "%s", secret), wantType: "error"},
		{name: "after the header was written", value: secret, wantType: "string", writeFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := captureLogger()
			var done []web.Completed
			rt := web.NewRouter(logger)
			rt.Handle("POST /v1/login", func(w http.ResponseWriter, r *http.Request) error {
				if tt.writeFirst {
					w.WriteHeader(http.StatusAccepted)
				}
				panic(tt.value)
			})
			h := web.Wrap(rt, web.Options{Logger: logger, Function: "auth",
				OnComplete: func(_ *http.Request, c web.Completed) { done = append(done, c) }})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/login", strings.NewReader(`{}`)))

			mustNotContain(t, "response body", rec.Body.String(), secret, "alice", "panic", "goroutine")
			mustNotContain(t, "log", buf.String(), secret, "alice@example.com")

			panics := linesWithMsg(t, buf, "panic serving request")
			if len(panics) != 1 {
				t.Fatalf("want one panic line, got:\n%s", buf)
			}
			if panics[0]["panic_type"] != tt.wantType || panics[0]["level"] != "ERROR" {
				t.Errorf("panic line %v, want level ERROR panic_type %q", panics[0], tt.wantType)
			}
			if s, _ := panics[0]["stack"].(string); !strings.Contains(s, "goroutine") {
				t.Errorf("panic line has no stack: %v", panics[0])
			}
			if len(done) != 1 {
				t.Fatalf("OnComplete called %d times", len(done))
			}
			line := accessLine(t, buf)
			if tt.writeFirst {
				// The client already has its status; the log tells the truth about it.
				if rec.Code != http.StatusAccepted || line["status"] != float64(http.StatusAccepted) {
					t.Errorf("status %d, logged %v; want 202", rec.Code, line["status"])
				}
				return
			}
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", rec.Code)
			}
			p := problemOf(t, rec)
			if p.Code != "internal_error" {
				t.Errorf("code %q, want internal_error", p.Code)
			}
			if line["status"] != float64(500) || line["code"] != "internal_error" || line["route"] != "POST /v1/login" {
				t.Errorf("access line %v", line)
			}
			if c := done[0]; c.Status != 500 || c.Code != "internal_error" || c.Route != "POST /v1/login" || c.RequestID != p.RequestID {
				t.Errorf("Completed %+v", c)
			}
		})
	}
}

func TestWrapAbortHandlerPanicsThrough(t *testing.T) {
	logger, buf := captureLogger()
	h := web.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}), web.Options{Logger: logger})
	defer func() {
		if v := recover(); v != http.ErrAbortHandler { //nolint:errorlint // the sentinel itself
			t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
		}
		if strings.Contains(buf.String(), "panic serving request") {
			t.Errorf("an aborted request is not a panic to report:\n%s", buf)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	t.Fatal("ServeHTTP returned")
}

// TestAccessLog proves the access line and OnComplete name the route pattern,
// never the raw path (which holds ids) or the query (which may hold anything).
func TestAccessLog(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantRoute  string
		wantCode   string
		secrets    []string // parts of the target that must appear in no log line
	}{
		{name: "login with a query", method: "POST", target: "/v1/login?email=alice@example.com&next=%2Fx",
			wantStatus: 200, wantRoute: "POST /v1/login", secrets: []string{"alice", "email=", "next=", "?"}},
		{name: "id in the path", method: "GET", target: "/v1/sources/src_7x3qpathsecret?token=tok123",
			wantStatus: 200, wantRoute: "GET /v1/sources/{id}", secrets: []string{"src_7x3qpathsecret", "tok123", "token="}},
		{name: "handler error", method: "DELETE", target: "/v1/sources/src_gone00000000?force=1",
			wantStatus: 404, wantRoute: "DELETE /v1/sources/{id}", wantCode: "source_not_found", secrets: []string{"src_gone00000000", "force"}},
		{name: "unknown route", method: "GET", target: "/v1/nothing/acct_unknown000000?q=alice",
			wantStatus: 404, wantRoute: "unmatched", wantCode: "not_found", secrets: []string{"acct_unknown000000", "/v1/nothing", "q=alice"}},
		{name: "wrong method", method: "PUT", target: "/v1/sources/src_wrongmethod0?x=1",
			wantStatus: 405, wantRoute: "unmatched", wantCode: "method_not_allowed", secrets: []string{"src_wrongmethod0", "x=1"}},
		{name: "path to clean is redirected under its pattern", method: "POST", target: "/v1//login?email=bob@example.com",
			wantStatus: 307, wantRoute: "POST /v1/login", secrets: []string{"bob", "//", "email="}},
		{name: "trailing-slash redirect under its pattern", method: "GET", target: "/v1/files/file_slashless00",
			wantStatus: 307, wantRoute: "/v1/files/{id}/", secrets: []string{"file_slashless00"}},
		{name: "CONNECT trailing-slash redirect", method: "CONNECT", target: "/v1/files/file_connect0000",
			wantStatus: 404, wantRoute: "unmatched", wantCode: "not_found", secrets: []string{"file_connect0000"}},
		{name: "subtree pattern", method: "GET", target: "/v1/files/file_abc0000000/part/2?sig=zzz",
			wantStatus: 200, wantRoute: "/v1/files/{id}/", secrets: []string{"file_abc0000000", "part/2", "sig="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := captureLogger()
			rt := web.NewRouter(logger)
			ok := func(w http.ResponseWriter, r *http.Request) error {
				web.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
				return nil
			}
			rt.Handle("POST /v1/login", ok)
			rt.Handle("GET /v1/sources/{id}", ok)
			rt.Handle("DELETE /v1/sources/{id}", func(http.ResponseWriter, *http.Request) error {
				return web.Errorf(http.StatusNotFound, "source_not_found", "There is no such source.")
			})
			rt.Handle("/v1/files/{id}/", ok) // a method-less pattern, so CONNECT reaches it
			var done []web.Completed
			var doneReq *http.Request
			h := web.Wrap(rt, web.Options{Logger: logger, Function: "sources",
				OnComplete: func(r *http.Request, c web.Completed) { done = append(done, c); doneReq = r }})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, strings.NewReader(`{}`)))

			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			line := accessLine(t, buf)
			want := map[string]any{
				"level": "INFO", "function": "sources", "method": tt.method, "route": tt.wantRoute,
				"status": float64(tt.wantStatus), "code": tt.wantCode, "request_id": rec.Header().Get("X-Request-Id"),
			}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("access line %s = %#v, want %#v", k, line[k], v)
				}
			}
			if ms, ok := line["latency_ms"].(float64); !ok || ms < 0 {
				t.Errorf("access line latency_ms = %#v", line["latency_ms"])
			}
			mustNotContain(t, "log", buf.String(), tt.secrets...)

			if len(done) != 1 {
				t.Fatalf("OnComplete called %d times", len(done))
			}
			c := done[0]
			if c.Route != tt.wantRoute || c.Status != tt.wantStatus || c.Code != tt.wantCode || c.Method != tt.method ||
				c.Function != "sources" || c.RequestID != rec.Header().Get("X-Request-Id") || c.Latency < 0 {
				t.Errorf("Completed %+v", c)
			}
			if logging.RequestID(doneReq.Context()) != c.RequestID {
				t.Errorf("OnComplete's request carries request id %q", logging.RequestID(doneReq.Context()))
			}
			if tt.wantCode != "" {
				if p := problemOf(t, rec); p.Code != tt.wantCode {
					t.Errorf("problem code %q, want %q", p.Code, tt.wantCode)
				}
			}
		})
	}
}

func TestWrapWithoutLoggerUsesDefault(t *testing.T) {
	h := web.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), web.Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusNoContent || rec.Header().Get("X-Request-Id") == "" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
}

func TestWrapKeepsResponseController(t *testing.T) {
	h := web.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the wrapper: %v", err)
		}
	}), web.Options{Logger: logging.New(io.Discard, nil)})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !rec.Flushed {
		t.Error("the recorder was not flushed")
	}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode string
		want     int
	}{
		{"no error", nil, "", http.StatusNoContent},
		{"client error", web.Errorf(http.StatusConflict, "email_taken", "Taken."), "email_taken", http.StatusConflict},
		{"wrapped client error", fmt.Errorf("signup: %w", web.Errorf(http.StatusConflict, "email_taken", "Taken.")), "email_taken", http.StatusConflict},
		{"other error", errors.New("boom"), "internal_error", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, _ := captureLogger()
			h := web.Handle(logger, func(w http.ResponseWriter, r *http.Request) error {
				if tt.err == nil {
					w.WriteHeader(http.StatusNoContent)
				}
				return tt.err
			})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/", nil)
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.wantCode != "" {
				if p := problemOf(t, rec); p.Code != tt.wantCode {
					t.Errorf("code %q, want %q", p.Code, tt.wantCode)
				}
			}
		})
	}
}

// TestWrapContextRequestIDWithoutLambda shows a context id other than
// Lambda's is not taken either: only Wrap decides the id.
func TestWrapContextRequestIDWithoutLambda(t *testing.T) {
	h := web.Wrap(http.NotFoundHandler(), web.Options{Logger: logging.New(io.Discard, nil)})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(logging.WithRequestID(context.Background(), "preset"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if id := rec.Header().Get("X-Request-Id"); !randomID.MatchString(id) {
		t.Errorf("X-Request-Id = %q", id)
	}
}
