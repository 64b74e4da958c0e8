package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// A secret's name or ARN is shown as it is, however long; a value that is
// not one (or looks like a key) is scrubbed as ever.
func TestSecretID(t *testing.T) {
	for id, shown := range map[string]bool{
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:atrium-production/smtp-credentials-AbC123": true,
		"atrium-production-with-a-long-name/stripe":                                                      true,
		"sk_live_0123456789abcdefghijklmnopqrstuvwxyz":                                                   false,
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:sk_live_0123456789abcdefghijklmnopqrst":    false,
		`{"password": "0123456789abcdefghijklmnopqrstuvwxyz"}`:                                           false,
	} {
		var buf bytes.Buffer
		New(&buf, slog.LevelInfo).Info("x", SecretID("configure", id))
		if got := strings.Contains(buf.String(), id); got != shown {
			t.Errorf("%s shown %v, want %v: %s", id, got, shown, buf.String())
		}
	}
}
