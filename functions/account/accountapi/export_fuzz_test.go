package accountapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/web"
)

// FuzzParseExportQuery feeds raw query strings to parseExportQuery. It never
// panics; it accepts a query with no parameter (the whole export), or exactly one
// request_logs_cursor of 1 to 128 URL-safe base64 characters in a query of
// at most 256 bytes (the next request logs); anything else is a 400
// validation_failed naming at least one field, each with a code and a
// detail, and no detail echoes the input.
func FuzzParseExportQuery(f *testing.F) {
	for _, seed := range []string{
		"", "request_logs_cursor=MTc3MDAwMDAwMDAwMCNyZXFfeA", "request_logs_cursor=", "request_logs_cursor",
		"request_logs_cursor=a&request_logs_cursor=a", "request_logs_cursor=a&request_logs_cursor=b",
		"request_logs_cursor=AAAA%3D%3D", "request_logs_cursor=a+b", "request_logs_cursor=a%2Fb", "request_logs_cursor=%zz",
		"request_logs_cursor=" + strings.Repeat("A", 128), "request_logs_cursor=" + strings.Repeat("A", 129),
		"request_logs_cursor=" + strings.Repeat("A", 236), "request_logs_cursor=" + strings.Repeat("A", 237),
		"cursor=abc", "Request_Logs_Cursor=abc", "request_logs_cursor=abc&limit=5", "=", "&", "&&&", "a=1&b=2",
		"request_logs_cursor=abc;x=y", "request_logs_cursor=%E2%82%AC", "request_logs_cursor=%00", "%72equest_logs_cursor=abc",
		"request_logs_cursor=-_-_", "?request_logs_cursor=abc", "request_logs_cursor=abc&",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cursor, err := parseExportQuery(raw)
		if err != nil {
			var e *web.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "validation_failed" || len(e.Fields) == 0 {
				t.Fatalf("%q: error %#v, want a 400 validation_failed naming a field", raw, err)
			}
			for _, fe := range e.Fields {
				if fe.Code == "" || fe.Detail == "" {
					t.Fatalf("%q: field error %+v without a code or detail", raw, fe)
				}
				if len(raw) >= 8 && strings.Contains(fe.Detail, raw) {
					t.Fatalf("%q: detail %q echoes the input", raw, fe.Detail)
				}
			}
			if cursor != "" {
				t.Fatalf("%q: refused, yet cursor %q", raw, cursor)
			}
			return
		}
		if len(raw) > maxExportQuery {
			t.Fatalf("%q: accepted a query of %d bytes", raw, len(raw))
		}
		v, perr := url.ParseQuery(raw)
		if perr != nil {
			t.Fatalf("%q: accepted a malformed query: %v", raw, perr)
		}
		if cursor == "" {
			if len(v) != 0 {
				t.Fatalf("%q: accepted %v as the whole export", raw, v)
			}
			return // separators only ("&"): no parameter, the whole export
		}
		if len(v) != 1 || len(v[cursorParam]) != 1 || v[cursorParam][0] != cursor {
			t.Fatalf("%q: accepted %v as cursor %q; want exactly one %s", raw, v, cursor, cursorParam)
		}
		if len(cursor) < 1 || len(cursor) > 128 || strings.Trim(cursor,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("%q: accepted cursor %q", raw, cursor)
		}
	})
}
