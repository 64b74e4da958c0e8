package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/config"
)

// env is a getenv over a map, as the tests and the local stack use.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// checkErr asserts that r's error is exactly want: the variable's name and
// what is wrong with it, never its value (which may be a secret). An empty
// want means no error.
func checkErr(t *testing.T, r *config.Reader, want string) {
	t.Helper()
	err := r.Err()
	switch {
	case want == "" && err != nil:
		t.Errorf("Err() = %v, want nil", err)
	case want != "" && err == nil:
		t.Errorf("Err() = nil, want %q", want)
	case want != "" && err.Error() != "invalid configuration: "+want:
		t.Errorf("Err() = %q, want %q", err, "invalid configuration: "+want)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name, value, def, want string
	}{
		{"set", "eu-west-1", "us-east-1", "eu-west-1"},
		{"trimmed", "  eu-west-1\n", "us-east-1", "eu-west-1"},
		{"unset", "", "us-east-1", "us-east-1"},
		{"blank", "   ", "us-east-1", "us-east-1"},
		{"unset without default", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.New(env(map[string]string{"REGION": tt.value}))
			if got := r.String("REGION", tt.def); got != tt.want {
				t.Errorf("String = %q, want %q", got, tt.want)
			}
			checkErr(t, r, "")
		})
	}
}

func TestRequired(t *testing.T) {
	tests := []struct {
		name, value, want string
		bad               bool
	}{
		{"set", "atrium-state", "atrium-state", false},
		{"trimmed", " atrium-state ", "atrium-state", false},
		{"unset", "", "", true},
		{"blank", " \t", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.New(env(map[string]string{"STATE_TABLE": tt.value}))
			if got := r.Required("STATE_TABLE"); got != tt.want {
				t.Errorf("Required = %q, want %q", got, tt.want)
			}
			if tt.bad {
				checkErr(t, r, "STATE_TABLE: is required")
			} else {
				checkErr(t, r, "")
			}
		})
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		name, value string
		want        int
		bad         bool
	}{
		{"unset gives the default", "", 10, false},
		{"value", "25", 25, false},
		{"trimmed", " 25 ", 25, false},
		{"plus sign", "+25", 25, false},
		{"low bound", "1", 1, false},
		{"high bound", "100", 100, false},
		{"below", "0", 10, true},
		{"above", "101", 10, true},
		{"negative", "-5", 10, true},
		{"not a number", "ten", 10, true},
		{"fraction", "2.5", 10, true},
		{"overflow", "99999999999999999999999", 10, true},
		{"hex", "0x10", 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.New(env(map[string]string{"LIMIT": tt.value}))
			if got := r.Int("LIMIT", 10, 1, 100); got != tt.want {
				t.Errorf("Int = %d, want %d", got, tt.want)
			}
			if tt.bad {
				checkErr(t, r, "LIMIT: must be a whole number from 1 to 100")
			} else {
				checkErr(t, r, "")
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		name, value string
		want        time.Duration
		bad         bool
	}{
		{"unset gives the default", "", 30 * time.Minute, false},
		{"minutes", "45m", 45 * time.Minute, false},
		{"compound", "1h30m", 90 * time.Minute, false},
		{"trimmed", " 2h ", 2 * time.Hour, false},
		{"low bound", "1m", time.Minute, false},
		{"high bound", "24h", 24 * time.Hour, false},
		{"below", "59s", 30 * time.Minute, true},
		{"above", "25h", 30 * time.Minute, true},
		{"no unit", "30", 30 * time.Minute, true},
		{"days are not Go syntax", "1d", 30 * time.Minute, true},
		{"negative", "-5m", 30 * time.Minute, true},
		{"garbage", "soon", 30 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.New(env(map[string]string{"IDLE": tt.value}))
			if got := r.Duration("IDLE", 30*time.Minute, time.Minute, 24*time.Hour); got != tt.want {
				t.Errorf("Duration = %v, want %v", got, tt.want)
			}
			if tt.bad {
				checkErr(t, r, "IDLE: must be a duration such as 30m from 1m0s to 24h0m0s")
			} else {
				checkErr(t, r, "")
			}
		})
	}
}

func TestBool(t *testing.T) {
	tests := []struct {
		name, value string
		def, want   bool
		bad         bool
	}{
		{"unset gives the default true", "", true, true, false},
		{"unset gives the default false", "", false, false, false},
		{"true", "true", false, true, false},
		{"TRUE", "TRUE", false, true, false},
		{"1", "1", false, true, false},
		{"false", "false", true, false, false},
		{"0", "0", true, false, false},
		{"trimmed", " false ", true, false, false},
		{"yes is refused", "yes", true, true, true},
		{"on is refused", "on", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.New(env(map[string]string{"DEBUG": tt.value}))
			if got := r.Bool("DEBUG", tt.def); got != tt.want {
				t.Errorf("Bool = %v, want %v", got, tt.want)
			}
			if tt.bad {
				checkErr(t, r, "DEBUG: must be true or false")
			} else {
				checkErr(t, r, "")
			}
		})
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		name, value string
		want        []string
	}{
		{"unset", "", nil},
		{"one", "https://app.example.com", []string{"https://app.example.com"}},
		{"several, trimmed", " https://a.example.com , https://b.example.com,https://c.example.com ",
			[]string{"https://a.example.com", "https://b.example.com", "https://c.example.com"}},
		{"empty items dropped", ",a,, ,b,", []string{"a", "b"}},
		{"only commas", ", ,", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.New(env(map[string]string{"ALLOWED_ORIGINS": tt.value}))
			if got := r.List("ALLOWED_ORIGINS"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("List = %#v, want %#v", got, tt.want)
			}
			checkErr(t, r, "")
		})
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		name, value, def, want string
		bad                    bool
	}{
		{"unset without default", "", "", "", false},
		{"unset gives the default", "", "https://api.stripe.com", "https://api.stripe.com", false},
		{"http", "http://127.0.0.1:8000", "", "http://127.0.0.1:8000", false},
		{"https with path", "https://example.com/base", "", "https://example.com/base", false},
		{"trailing slashes dropped", "https://example.com/base//", "", "https://example.com/base", false},
		{"trimmed", "  http://localhost:4566 ", "", "http://localhost:4566", false},
		{"scheme is case-insensitive", "HTTPS://example.com", "", "HTTPS://example.com", false},
		{"no scheme", "localhost:8000", "", "", true},
		{"host only", "example.com", "", "", true},
		{"other scheme", "ftp://example.com", "", "", true},
		{"no host", "http://", "", "", true},
		{"port without host", "http://:8000", "", "", true},
		{"path only", "/v1", "", "", true},
		{"unparsable", "http://[::1", "", "", true},
		{"control character", "http://exa\x7fmple.com", "", "", true},
		{"bad value falls back to the default", "nope", "https://fallback.example.com", "https://fallback.example.com", true},
		{"credentials are not echoed", "ftp://user:s3cr3t-pass@example.com", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.New(env(map[string]string{"ENDPOINT": tt.value}))
			if got := r.URL("ENDPOINT", tt.def); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
			if tt.bad {
				checkErr(t, r, "ENDPOINT: must be an absolute http(s) URL")
			} else {
				checkErr(t, r, "")
			}
		})
	}
}

// TestErrListsEveryProblem: one run of a function's reads reports every bad
// variable at once, each on its own line, in the order read; good ones are
// not mentioned.
func TestErrListsEveryProblem(t *testing.T) {
	r := config.New(env(map[string]string{
		"STAGE":                "prod",
		"LIMIT":                "lots",
		"IDLE":                 "forever",
		"DEBUG":                "maybe",
		"ENDPOINT":             "not a url",
		"ALLOWED_ORIGINS":      "https://app.example.com",
		"SESSION_MAX_LIFETIME": "2h",
	}))
	_ = r.Required("STAGE")
	_ = r.Required("STATE_TABLE")
	_ = r.Required("MAIL_FROM")
	_ = r.Int("LIMIT", 10, 1, 100)
	_ = r.Duration("IDLE", time.Minute, time.Second, time.Hour)
	_ = r.Duration("SESSION_MAX_LIFETIME", time.Hour, time.Minute, 24*time.Hour)
	_ = r.Bool("DEBUG", false)
	_ = r.URL("ENDPOINT", "")
	_ = r.List("ALLOWED_ORIGINS")
	_ = r.String("REGION", "us-east-1")

	err := r.Err()
	if err == nil {
		t.Fatal("Err() = nil")
	}
	want := []string{
		"STATE_TABLE: is required",
		"MAIL_FROM: is required",
		"LIMIT: must be a whole number from 1 to 100",
		"IDLE: must be a duration such as 30m from 1s to 1h0m0s",
		"DEBUG: must be true or false",
		"ENDPOINT: must be an absolute http(s) URL",
	}
	got := strings.Split(strings.TrimPrefix(err.Error(), "invalid configuration: "), "\n")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Err() lines\n%q\nwant\n%q", got, want)
	}
	// The joined errors stay inspectable one by one.
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != len(want) {
		t.Errorf("Err() does not unwrap to %d errors: %#v", len(want), err)
	}
	// Err is stable: asking twice gives the same report.
	if r.Err().Error() != err.Error() {
		t.Error("Err() changed between calls")
	}
}

func TestErrNilWhenAllGood(t *testing.T) {
	r := config.New(env(map[string]string{"STAGE": "dev", "LIMIT": "5"}))
	_ = r.Required("STAGE")
	_ = r.Int("LIMIT", 1, 1, 10)
	_ = r.Duration("IDLE", time.Minute, time.Second, time.Hour)
	_ = r.Bool("DEBUG", true)
	_ = r.URL("ENDPOINT", "")
	_ = r.List("ORIGINS")
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
}
