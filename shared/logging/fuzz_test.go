package logging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/logging"
)

// simpleEmail is what a reviewer grepping the logs would call an email address.
var simpleEmail = regexp.MustCompile(`[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// planted are personal data and secrets that, set apart by spaces, must
// never survive Scrub whole, whatever surrounds them.
var planted = []string{
	"alice@example.com",
	"first.last+tag@sub.example.co.uk",
	"mary.o'connor@example.com",
	"ann'@example.com",
	"203.0.113.42",
	"10.0.0.1",
	"2001:db8::1",
	"2001:0db8:85a3:0000:0000:8a2e:0370:7334",
	"2001:db8:85a3::8a2e:370:7334",
	"fe80::1ff:fe23:4567:890a",
	"Bearer abc.def.ghi",
	"4242 4242 4242 4242",
	"4000-0566-5566-5556",
	"378282246310005",
	"sk_live_4eC39HqLyjWDarjtT1zdp7dc",
	"AKIAIOSFODNN7EXAMPLE",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"kq3Zp0V9mQx7sT2uW8yB1cD4eF6gH5jK0lN3oP7rS9t", // an ids.Secret
}

// FuzzScrub checks two properties.
//
//  1. Scrub's output never holds anything shaped like an email address, for
//     any input. (It holds because every "x@y" run is replaced first and the
//     later passes only put "[REDACTED]" in place of text: its brackets can
//     stand next to neither side of an '@'.) The same holds for every key and
//     string of a whole log line, whatever the message, keys and values.
//  2. Any of the planted values, with a space on each side, does not come
//     out whole, whatever the text before and after it.
func FuzzScrub(f *testing.F) {
	for i, s := range []string{
		"", "plain", "alice@example.com", "a@b@c.com", "x@y.zz", "mailto:bob@example.org",
		"<carol@example.net>", `"dave@example.com"`, "(erin@example.com)", "user=frank@example.com;",
		"[REDACTED]@example.com", "a@@b.com", "a.@b..com", "é@example.com", "grace@exa\xffmple.com",
		"bearer Bearer", "1234567890123", "4242 4242 4242", "2001:db8:", "::", "fe80:", "1.2.3.4.5",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "acct_aaaaaaaaaaaaaaaaaaaaaaaaaa.sess_", "\x00@\x00.com",
		"password", "request_id", "x@y.com@z.org", "line\n@example.com", "tab\t@example.com",
	} {
		f.Add(s, "suffix "+s, uint8(i))
	}
	f.Fuzz(func(t *testing.T, prefix, suffix string, pick uint8) {
		// Property 1, on Scrub alone.
		for _, in := range []string{prefix, suffix, prefix + suffix} {
			if out := logging.Scrub(in); simpleEmail.MatchString(out) {
				t.Fatalf("Scrub(%q) = %q holds an email address %q", in, out, simpleEmail.FindString(out))
			}
		}
		// Property 2.
		x := planted[int(pick)%len(planted)]
		in := prefix + " " + x + " " + suffix
		if out := logging.Scrub(in); strings.Contains(out, x) {
			t.Fatalf("Scrub(%q) = %q still holds %q", in, out, x)
		}
		// Property 1, on a whole log line built from the input.
		var buf bytes.Buffer
		logger := logging.New(&buf, slog.LevelDebug)
		logger.With(prefix, suffix).Info(prefix,
			suffix, prefix,
			"error", errors.New(suffix),
			"form", map[string]string{prefix: suffix},
			slog.Group("g", "v", suffix))
		// Every token, so that a key written twice is checked both times.
		dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("log line is not JSON: %v: %s", err, buf.Bytes())
			}
			if s, ok := tok.(string); ok && simpleEmail.MatchString(s) {
				t.Fatalf("log line holds an email address in %q: %s", s, buf.Bytes())
			}
		}
	})
}
