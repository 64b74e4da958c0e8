package accountapi

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/web"
)

// FuzzParseLogQuery feeds raw query strings through url.ParseQuery and
// parseLogQuery. It never panics; an accepted query names only the four
// parameters, each at most once, and has 1 ≤ limit ≤ 100, since < until,
// since no earlier than now − 90 days, until no later than now (an hour's
// slack) and a cursor of at most 128 bytes; a
// refused one is a 400 validation_failed naming at least one field, each
// with a code and a detail.
func FuzzParseLogQuery(f *testing.F) {
	now := time.Date(2026, 6, 15, 12, 30, 0, 0, time.UTC)
	for _, seed := range []string{
		"", "limit=1", "limit=100", "limit=0", "limit=101", "limit=x", "limit=-0", "limit=+100", "limit=0100",
		"since=2026-06-15T11:00:00Z&until=2026-06-15T12:00:00Z",
		"since=2026-06-15T12:00:00Z&until=2026-06-15T11:00:00Z",
		"since=2026-06-15T12:00:00Z&until=2026-06-15T12:00:00Z",
		"since=2000-01-01T00:00:00Z", "until=2000-01-01T00:00:00Z", "until=9999-12-31T23:59:59Z",
		"since=2026-06-15T12:00:00+14:00", "since=2026-06-15T12:00:00.123456789-12:00",
		"since=2026-02-30T00:00:00Z", "since=2026-06-15T24:00:00Z", "since=0000-01-01T00:00:00Z",
		"cursor=MTc3MDAwMDAwMDAwMCNyZXFfeA", "cursor=" + string(make([]byte, 129)),
		"limit=5&limit=5", "foo=bar", "=", "&&&", "limit", "a=1&b=2&c=3&limit=7&cursor=x",
		"since=%zz", "limit=%00", "until=2026-06-15T12:30:00Z", "until=2026-06-15T12:30:00.000000001Z",
		"since=2026-03-17T12:30:00Z", "since=2026-03-17T12:29:59Z&until=2026-03-17T12:30:00Z",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseLogQuery(v, now)
		if err != nil {
			var e *web.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "validation_failed" || len(e.Fields) == 0 {
				t.Fatalf("%q: error %#v, want a 400 validation_failed naming a field", raw, err)
			}
			for _, fe := range e.Fields {
				if fe.Code == "" || fe.Detail == "" {
					t.Fatalf("%q: field error %+v without a code or detail", raw, fe)
				}
			}
			return
		}
		for name, vals := range v {
			switch name {
			case "limit", "cursor", "since", "until":
			default:
				t.Fatalf("%q: accepted with the unknown parameter %q", raw, name)
			}
			if len(vals) != 1 {
				t.Fatalf("%q: accepted with %q given %d times", raw, name, len(vals))
			}
		}
		if q.Limit < 1 || q.Limit > 100 {
			t.Fatalf("%q: accepted limit %d", raw, q.Limit)
		}
		if !q.Since.Before(q.Until) {
			t.Fatalf("%q: accepted since %s not before until %s", raw, q.Since, q.Until)
		}
		if q.Until.After(now.Add(time.Hour)) {
			t.Fatalf("%q: accepted until %s, after now: nothing newer exists, and a far one breaks the key range", raw, q.Until)
		}
		if q.Since.Before(now.Add(-requestlog.Retention)) {
			t.Fatalf("%q: accepted since %s, more than 90 days before now", raw, q.Since)
		}
		if len(q.Cursor) > 128 {
			t.Fatalf("%q: accepted a cursor of %d bytes", raw, len(q.Cursor))
		}
		if q.AccountID != "" {
			t.Fatalf("%q: the query chose the account %q", raw, q.AccountID)
		}
	})
}
