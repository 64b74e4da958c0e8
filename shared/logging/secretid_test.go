package logging

import (
	"bytes"
	"log/slog"
	"regexp"
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

// The hand-written shapes accept exactly what the regular expressions they
// replace accept.
var (
	secretIDRegexp  = regexp.MustCompile(`^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$`)
	requestIDRegexp = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

func shapeSeeds() []string {
	return []string{
		"", "a", "atrium/smtp", "a:b", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
		"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:atrium/x-AbC123",
		"arn:aws:secretsmanager::123456789012:secret:x", "arn:aws:secretsmanager:eu-west-1:12345678901:secret:x",
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:a:b",
		"arn:awsX:secretsmanager:eu-west-1:123456789012:secret:x", "arn:aws:secretsmanager:EU:123456789012:secret:x",
		"ARN:aws:secretsmanager:eu-west-1:123456789012:secret:x", "name with space", "é", "a\n",
		strings.Repeat("a", 512), strings.Repeat("a", 513), strings.Repeat("b", 64), strings.Repeat("b", 65),
		"0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e", "req_AbC-123", "req.1",
	}
}

func TestShapesMatchTheirRegexps(t *testing.T) {
	for _, s := range shapeSeeds() {
		if got, want := secretIDShape(s), secretIDRegexp.MatchString(s); got != want {
			t.Errorf("secretIDShape(%q) = %v, the expression says %v", s, got, want)
		}
		if got, want := requestIDShape(s), requestIDRegexp.MatchString(s); got != want {
			t.Errorf("requestIDShape(%q) = %v, the expression says %v", s, got, want)
		}
	}
}

func FuzzShapesMatchTheirRegexps(f *testing.F) {
	for _, s := range shapeSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := secretIDShape(s), secretIDRegexp.MatchString(s); got != want {
			t.Errorf("secretIDShape(%q) = %v, the expression says %v", s, got, want)
		}
		if got, want := requestIDShape(s), requestIDRegexp.MatchString(s); got != want {
			t.Errorf("requestIDShape(%q) = %v, the expression says %v", s, got, want)
		}
	})
}
