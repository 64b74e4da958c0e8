package coldstart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var errSentinel = errors.New("source not found")

func TestInvokedScrubsReturnedErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		message string // what the invoker sees
	}{
		{"no error", nil, ""},
		{"a plain error is kept", errSentinel, "source not found"},
		{"an address in a wrapped error is scrubbed", fmt.Errorf("send mail: 550 <mary.o'connor@example.com> rejected: %w", errSentinel), ""},
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
			if !errors.Is(err, errSentinel) {
				t.Errorf("errors.Is lost the original: %v", err)
			}
			if tc.message != "" && err.Error() != tc.message {
				t.Errorf("message %q, want %q", err.Error(), tc.message)
			}
			if strings.Contains(err.Error(), "connor") || strings.Contains(err.Error(), "example.com") {
				t.Errorf("the address survived: %q", err.Error())
			}
		})
	}
}
