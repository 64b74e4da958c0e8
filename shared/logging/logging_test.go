package logging_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/logging"
)

// capture returns the production logger writing into a buffer.
func capture() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return logging.New(&buf, slog.LevelDebug), &buf
}

// lines parses every JSON line of buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// only returns the one line of buf.
func only(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	ls := lines(t, buf)
	if len(ls) != 1 {
		t.Fatalf("want one line, got %d:\n%s", len(ls), buf)
	}
	return ls[0]
}

func TestSensitiveKeysAreRedacted(t *testing.T) {
	for _, key := range []string{
		"password", "new_password", "current_password", "Password", "passwd",
		"token", "session_token", "verify_token", "access_token", "refresh_token", "csrf_token",
		"authorization", "Authorization", "cookie", "set_cookie",
		"email", "new_email", "email_address", "mail_to",
		"ip", "client_ip", "source_ip", "ip_address", "IP",
		"user_agent", "useragent", "secret_access_key", "access_key_id", "client_secret", "webhook_secret",
		"card_number", "card", "cvc", "pan", "card_pan",
		"api_key", "apikey", "credential", "credentials", "signature", "stripe_signature",
		"body", "request_body", "query", "raw_query", "address", "session",
	} {
		t.Run(key, func(t *testing.T) {
			logger, buf := capture()
			logger.Info("event", key, "plain value 42")
			// The key names the datum whatever its kind.
			logger.Info("event", slog.Int(key, 4242))
			logger.Info("event", slog.Any(key, []string{"plain value 42"}))
			for _, got := range lines(t, buf) {
				if got[key] != logging.Redacted {
					t.Errorf("%s = %#v, want %q", key, got[key], logging.Redacted)
				}
				delete(got, "time") // its nanoseconds may happen to hold 4242
				if text := fmt.Sprint(got); strings.Contains(text, "plain value") || strings.Contains(text, "4242") {
					t.Errorf("value of %s leaked: %s", key, text)
				}
			}
		})
	}
}

func TestOrdinaryKeysAreKept(t *testing.T) {
	for _, key := range []string{
		"request_id", "session_id", "account_id", "source_id", "status", "route", "method", "function",
		"zip", "span", "latency_ms", "code", "reason", "kind", "description", "stored", "plan", "count",
	} {
		t.Run(key, func(t *testing.T) {
			logger, buf := capture()
			logger.Info("event", key, "plain value 42")
			if got := only(t, buf); got[key] != "plain value 42" {
				t.Errorf("%s = %#v, want it kept", key, got[key])
			}
		})
	}
	logger, buf := capture()
	logger.Info("event", "latency_ms", 12, "status", 404, "stored", true)
	got := only(t, buf)
	if got["latency_ms"] != float64(12) || got["status"] != float64(404) || got["stored"] != true {
		t.Errorf("non-string values changed: %v", got)
	}
}

func TestScrub(t *testing.T) {
	const secret = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5" // 44 chars of base64
	tests := []struct{ in, want string }{
		{"", ""},
		{"nothing to see", "nothing to see"},
		{"signup for alice@example.com done", "signup for [REDACTED] done"},
		{"<bob.smith+tag@mail.example.co.uk>", "<[REDACTED]>"},
		{"mailto:carol@example.org", "mailto:[REDACTED]"},
		{`{"email":"dave@example.net"}`, `{"email":"[REDACTED]"}`},
		{"from 203.0.113.42:443", "from [REDACTED]:443"},
		{"x-forwarded-for: 198.51.100.7, 10.0.0.1", "x-forwarded-for: [REDACTED], [REDACTED]"},
		{"v6 2001:db8::1 end", "v6 [REDACTED] end"},
		{"v6 2001:0db8:85a3:0000:0000:8a2e:0370:7334 end", "v6 [REDACTED] end"},
		{"v6 2001:db8:85a3::8a2e:370:7334 end", "v6 [REDACTED] end"},
		{"link-local fe80::1ff:fe23:4567:890a%eth0", "link-local [REDACTED]%eth0"},
		{"[2001:db8::7]:8080", "[[REDACTED]]:8080"},
		{"mapped ::ffff:192.0.2.128", "mapped [REDACTED]:[REDACTED]"},
		{"Authorization: Bearer abc.def.ghi", "Authorization: [REDACTED]"},
		{"bearer\tshort", "[REDACTED]"},
		{"card 4242 4242 4242 4242 ok", "card [REDACTED] ok"},
		{"card 4000-0566-5566-5556 ok", "card [REDACTED] ok"},
		{"card 4242424242424242", "card [REDACTED]"},
		{"amex 378282246310005", "amex [REDACTED]"},
		{"key sk_test_4eC39HqLyjWDarjtT1zdp7dc", "key [REDACTED]"},
		{"whsec_abcdefghijkl", "[REDACTED]"},
		{"aws AKIAIOSFODNN7EXAMPLE", "aws [REDACTED]"},
		{"aws wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws [REDACTED]"},
		{"secret " + secret + "==", "secret [REDACTED]"},
		{"session acct_aaaaaaaaaaaaaaaaaaaaaaaaaa.sess_bbbbbbbbbbbbbbbbbbbbbbbbbb.cccccccccccccccccccccccccccccccccccccccccc0",
			"session acct_aaaaaaaaaaaaaaaaaaaaaaaaaa.sess_bbbbbbbbbbbbbbbbbbbbbbbbbb.[REDACTED]"},
		// A digit run inside a secret does not split it into unredacted pieces.
		{"tok abcdefghij-4242424242424242-klmnopqrstuvwxyz", "tok [REDACTED]"},
		// What the logs need stays readable.
		{"req_4pylzso6ghedhjrdugbzzejgiy", "req_4pylzso6ghedhjrdugbzzejgiy"},
		{"acct_7x3qaaaaaaaaaaaaaaaaaaaaaa", "acct_7x3qaaaaaaaaaaaaaaaaaaaaaa"},
		{"POST /v1/login", "POST /v1/login"},
		{"GET /v1/sources/{id}", "GET /v1/sources/{id}"},
		{"zip 94107, 3 items, 12.5 ms, v1.2.3", "zip 94107, 3 items, 12.5 ms, v1.2.3"},
		{"ratio 16:9 and std::vector", "ratio 16:9 and std::vector"},
	}
	for _, tt := range tests {
		if got := logging.Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

type loginForm struct {
	Email    string
	Password string
	Plan     string
}

type secretString string

func (secretString) LogValue() slog.Value { return slog.StringValue(logging.Redacted) }

type user struct{ email string }

func (u user) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", u.email), slog.String("note", "wrote from "+u.email))
}

type panicErr struct{}

func (*panicErr) Error() string { panic("no text") }

// TestRedactionEverywhere: wherever a value appears on a line, it is redacted.
func TestRedactionEverywhere(t *testing.T) {
	const email = "erin@example.com"
	const pw = "hunter2-hunter2"
	tests := []struct {
		name  string
		log   func(l *slog.Logger)
		check func(t *testing.T, line map[string]any)
	}{
		{"message", func(l *slog.Logger) { l.Info("login by " + email + " from 198.51.100.1") }, nil},
		{"string value", func(l *slog.Logger) { l.Info("m", "who", email) }, nil},
		{"error value", func(l *slog.Logger) {
			l.Error("m", "error", fmt.Errorf("send to %s: %w", email, errors.New("smtp 550")))
		}, func(t *testing.T, line map[string]any) {
			if s, _ := line["error"].(string); !strings.Contains(s, "smtp 550") {
				t.Errorf("error text lost: %v", line)
			}
		}},
		{"error value under another key", func(l *slog.Logger) { l.Error("m", "cause", errors.New("bad "+email)) }, nil},
		{"error that panics", func(l *slog.Logger) { l.Error("m", "cause", error(&panicErr{})) }, nil},
		{"group", func(l *slog.Logger) {
			l.Info("m", slog.Group("user", "name", "x", "email", email, "contact", "mail "+email))
		}, func(t *testing.T, line map[string]any) {
			g, _ := line["user"].(map[string]any)
			if g["email"] != logging.Redacted || g["name"] != "x" {
				t.Errorf("group %v", g)
			}
		}},
		{"nested group", func(l *slog.Logger) {
			l.Info("m", slog.Group("a", slog.Group("b", "password", pw, "note", email)))
		}, nil},
		{"group named by a sensitive key", func(l *slog.Logger) {
			l.Info("m", slog.Group("password", "value", pw), slog.Group("headers", slog.Group("authorization", "scheme", "Basic", "value", pw)))
		}, func(t *testing.T, line map[string]any) {
			if g, _ := line["password"].(map[string]any); g["value"] != logging.Redacted {
				t.Errorf("password group %v", line["password"])
			}
		}},
		{"With attrs", func(l *slog.Logger) { l.With("email", email, "note", "for "+email).Info("m") }, nil},
		{"WithGroup attrs", func(l *slog.Logger) { l.WithGroup("req").With("password", pw).Info("m", "from", email) }, nil},
		{"map", func(l *slog.Logger) {
			l.Info("m", "form", map[string]string{"password": pw, "Email": email, "plan": "premium"})
		}, func(t *testing.T, line map[string]any) {
			form, _ := line["form"].(map[string]any)
			if form["plan"] != "premium" || form["password"] != logging.Redacted || form["Email"] != logging.Redacted {
				t.Errorf("form %v", line["form"])
			}
		}},
		{"struct", func(l *slog.Logger) { l.Info("m", "form", loginForm{Email: email, Password: pw, Plan: "standard"}) },
			func(t *testing.T, line map[string]any) {
				form, _ := line["form"].(map[string]any)
				if form["Plan"] != "standard" || form["Password"] != logging.Redacted {
					t.Errorf("form %v", line["form"])
				}
			}},
		{"pointer to struct", func(l *slog.Logger) { l.Info("m", "form", &loginForm{Email: email, Password: pw}) }, nil},
		{"slice", func(l *slog.Logger) { l.Info("m", "to", []string{email, "ok"}) }, nil},
		{"map with personal keys", func(l *slog.Logger) { l.Info("m", "counts", map[string]int{email: 3}) }, nil},
		{"net.IP", func(l *slog.Logger) { l.Info("m", "peer", net.ParseIP("2001:db8::5")) }, nil},
		{"unrenderable value", func(l *slog.Logger) { l.Info("m", "fn", func() string { return pw }) },
			func(t *testing.T, line map[string]any) {
				if line["fn"] != logging.Redacted {
					t.Errorf("fn = %v", line["fn"])
				}
			}},
		{"LogValuer", func(l *slog.Logger) { l.Info("m", "who", user{email: email}) }, nil},
		{"LogValuer hiding a secret", func(l *slog.Logger) { l.Info("m", "pw", secretString(pw)) }, nil},
		{"personal datum as a key", func(l *slog.Logger) { l.Info("m", email, 1) }, nil},
		{"odd argument", func(l *slog.Logger) { args := []any{email}; l.Info("m", args...) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := capture()
			tt.log(logger)
			line := only(t, buf)
			for _, leak := range []string{email, "erin@", pw, "198.51.100.1", "2001:db8::5"} {
				if strings.Contains(buf.String(), leak) {
					t.Errorf("line leaks %q: %s", leak, buf)
				}
			}
			if tt.check != nil {
				tt.check(t, line)
			}
		})
	}
}

func TestRequestIDOnEveryLine(t *testing.T) {
	const lambdaID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" // Scrub alone would take it for a secret
	tests := []struct {
		name string
		id   string
		want any // nil: no request_id at all
	}{
		{"ours", "req_4pylzso6ghedhjrdugbzzejgiy", "req_4pylzso6ghedhjrdugbzzejgiy"},
		{"Lambda's", lambdaID, lambdaID},
		{"none", "", nil},
		{"not id-shaped", "x alice@example.com", "x [REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := capture()
			ctx := context.Background()
			if tt.id != "" {
				ctx = logging.WithRequestID(ctx, tt.id)
			}
			if got := logging.RequestID(ctx); got != tt.id {
				t.Fatalf("RequestID = %q", got)
			}
			logger.InfoContext(ctx, "plain")
			logger.With("account_id", "acct_1").WarnContext(ctx, "with attrs")
			logger.WithGroup("auth").InfoContext(ctx, "in a group", "k", 1)
			logger.With("a", 1).WithGroup("g1").With("b", 2).WithGroup("g2").ErrorContext(ctx, "in two groups", "c", 3)
			logger.Log(ctx, slog.LevelDebug, "debug")
			ls := lines(t, buf)
			if len(ls) != 5 {
				t.Fatalf("want 5 lines:\n%s", buf)
			}
			for _, l := range ls {
				if got, ok := l["request_id"]; tt.want == nil && ok || tt.want != nil && got != tt.want {
					t.Errorf("top-level request_id = %#v, want %#v: %v", got, tt.want, l)
				}
			}
			// Groups and attrs are where they were, the id is not repeated inside them.
			g1, _ := ls[3]["g1"].(map[string]any)
			g2, _ := g1["g2"].(map[string]any)
			if ls[3]["a"] != float64(1) || g1["b"] != float64(2) || g2["c"] != float64(3) || g1["request_id"] != nil || g2["request_id"] != nil {
				t.Errorf("nested line %v", ls[3])
			}
			if auth, _ := ls[2]["auth"].(map[string]any); auth["k"] != float64(1) || auth["request_id"] != nil {
				t.Errorf("group line %v", ls[2])
			}
		})
	}
	// Without a context, no id; a request_id logged by hand is scrubbed like any value.
	logger, buf := capture()
	logger.Info("m", "request_id", lambdaID)
	if got := only(t, buf)["request_id"]; got != logging.Redacted {
		t.Errorf("hand-logged request_id = %v", got)
	}
}

func TestLevels(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want slog.Level
	}{
		{"debug", slog.LevelDebug}, {"DEBUG", slog.LevelDebug}, {"info", slog.LevelInfo},
		{"warn", slog.LevelWarn}, {"Warning", slog.LevelWarn}, {"error", slog.LevelError},
		{"", slog.LevelInfo}, {"verbose", slog.LevelInfo},
	} {
		if got := logging.ParseLevel(tt.in); got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	var buf bytes.Buffer
	logger := logging.New(&buf, slog.LevelWarn)
	logger.Info("dropped")
	logger.Debug("dropped")
	logger.Warn("kept")
	logger.Error("kept")
	if ls := lines(t, &buf); len(ls) != 2 || ls[0]["level"] != "WARN" || ls[1]["level"] != "ERROR" || ls[0]["time"] == nil {
		t.Errorf("lines %v", ls)
	}
}
