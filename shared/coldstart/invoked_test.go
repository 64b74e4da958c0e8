package coldstart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/atrium-cdn/atrium/shared/statetable"
)

var errSentinel = errors.New("source not found")

// A returned error reaches the invoker as aws-lambda-go reports it: a
// scrubbed message and an errorType from the documented set, never the name
// of a Go type (before, "scrubbedError").
func TestInvokedScrubsReturnedErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		message  string // what the invoker sees
		wantType string
	}{
		{"no error", nil, "", ""},
		{"a plain error is kept", errSentinel, "source not found", InvokeErrorFailed},
		{"an address in a wrapped error is scrubbed", fmt.Errorf("send mail: 550 <mary.o'connor@example.com> rejected: %w", errSentinel), "", InvokeErrorFailed},
		{"not found", statetable.NotFound("source not found"), "source not found", InvokeErrorNotFound},
		{"not found, wrapped", fmt.Errorf("read: %w", statetable.NotFound("source not found")), "read: source not found", InvokeErrorNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Invoked(func(context.Context, string) (int, error) { return 7, tc.err })
			out, err := h(context.Background(), "in")
			if out != 7 {
				t.Errorf("output %d", out)
			}
			if (err == nil) != (tc.err == nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err == nil {
				return
			}
			// aws-lambda-go uses an InvokeResponse_Error as it is (a type assertion, not errors.As).
			ive, ok := err.(messages.InvokeResponse_Error)
			if !ok {
				t.Fatalf("error is a %T: aws-lambda-go would report that Go type's name as errorType", err)
			}
			if ive.Type != tc.wantType {
				t.Errorf("errorType %q, want %q", ive.Type, tc.wantType)
			}
			if tc.message != "" && ive.Message != tc.message {
				t.Errorf("message %q, want %q", ive.Message, tc.message)
			}
			if strings.Contains(ive.Message, "connor") || strings.Contains(ive.Message, "example.com") {
				t.Errorf("the address survived: %q", ive.Message)
			}
		})
	}
}
