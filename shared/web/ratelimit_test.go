package web_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/web"
)

// TestRateLimitedAnswer: the one rate-limit answer is 429 rate_limited with
// Retry-After in whole seconds, rounded up, and names what was sent too often.
func TestRateLimitedAnswer(t *testing.T) {
	rec := httptest.NewRecorder()
	web.WriteError(rec, httptest.NewRequest(http.MethodPost, "/", nil), slog.New(slog.NewTextHandler(io.Discard, nil)),
		web.RateLimited(1500*time.Millisecond, "widgets from your network"))
	var p web.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" || p.Code != "rate_limited" ||
		p.Detail != "Too many widgets from your network. Wait and try again." {
		t.Fatalf("%d Retry-After %q %+v", rec.Code, rec.Header().Get("Retry-After"), p)
	}
}

// TestWithLeavesTheOriginal: a shared answer (a package's sentinel such as
// identity.ErrSessionEnded) given a cause or a Retry-After for one request
// is not changed for the next.
func TestWithLeavesTheOriginal(t *testing.T) {
	shared := web.CodeUnauthenticated.New()
	cause := errors.New("token of account acct_x")
	withCause, withRetry := shared.WithCause(cause), shared.WithRetryAfter(time.Minute)
	if shared.Cause != nil || shared.RetryAfter != 0 {
		t.Fatalf("the shared answer changed: %+v", shared)
	}
	if withCause.Cause != cause || !errors.Is(withCause, cause) || withRetry.RetryAfter != time.Minute ||
		withCause.Code != shared.Code || withRetry.Message != shared.Message {
		t.Fatalf("%+v %+v", withCause, withRetry)
	}
	if web.CodeOf(withCause) != web.CodeUnauthenticated || web.CodeOf(cause) != "" {
		t.Fatal("CodeOf")
	}
}
