package lambdahttp

import (
	"context"
	"net/http"
	"testing"
)

// The refusal of a malformed event, now built from the registry, is the
// document it always was, byte for byte.
func TestBadEventAnswerUnchanged(t *testing.T) {
	ev := event("", "/x")
	res, err := Handler(http.NotFoundHandler())(context.Background(), ev)
	const want = `{"type":"https://atrium.dev/problems/bad_event","title":"Bad Request","status":400,"code":"bad_event"}`
	if err != nil || res.StatusCode != http.StatusBadRequest || res.Body != want || res.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("%d %v %q, want 400 %q", res.StatusCode, res.Headers, res.Body, want)
	}
}
