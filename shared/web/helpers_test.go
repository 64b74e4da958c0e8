package web_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/web"
)

// randomID is the shape of a request id made by Wrap outside Lambda.
var randomID = regexp.MustCompile(`^req_[a-z2-7]{26}$`)

// captureLogger is the production logger writing into a buffer.
func captureLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return logging.New(&buf, slog.LevelDebug), &buf
}

// logLines parses every JSON line of buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// linesWithMsg returns the log lines whose msg is msg.
func linesWithMsg(t *testing.T, buf *bytes.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range logLines(t, buf) {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// accessLine returns the one access-log line of a request.
func accessLine(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	lines := linesWithMsg(t, buf, "request")
	if len(lines) != 1 {
		t.Fatalf("want exactly one access-log line, got %d in:\n%s", len(lines), buf.String())
	}
	return lines[0]
}

// problemOf checks that rec holds a well-formed problem document whose status
// is the response's and whose request id is the X-Request-Id header, and
// returns it.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder) web.Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %s)", ct, rec.Body)
	}
	var p web.Problem
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body does not decode: %v: %s", err, rec.Body)
	}
	if p.Status != rec.Code {
		t.Errorf("problem status %d, response status %d", p.Status, rec.Code)
	}
	if p.Type != web.ProblemBase+p.Code {
		t.Errorf("problem type %q, want %q", p.Type, web.ProblemBase+p.Code)
	}
	if p.Title != http.StatusText(rec.Code) {
		t.Errorf("problem title %q, want %q", p.Title, http.StatusText(rec.Code))
	}
	if p.Code == "" || p.Detail == "" {
		t.Errorf("problem without code or detail: %+v", p)
	}
	if id := rec.Header().Get("X-Request-Id"); p.RequestID != id {
		t.Errorf("problem request_id %q, X-Request-Id header %q", p.RequestID, id)
	}
	return p
}

// mustNotContain fails if s contains any of the words.
func mustNotContain(t *testing.T, what, s string, words ...string) {
	t.Helper()
	for _, w := range words {
		if w != "" && strings.Contains(s, w) {
			t.Errorf("%s contains %q:\n%s", what, w, s)
		}
	}
}
