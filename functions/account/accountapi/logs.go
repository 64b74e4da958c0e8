package accountapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Bounds of GET /v1/logs.
const (
	defaultLogLimit = 50
	maxLogLimit     = 100
)

// listLogs answers GET /v1/logs?limit&cursor&since&until: the caller's own
// request logs, newest first, never an expired one.
func listLogs(reader *requestlog.Reader, now func() time.Time) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, err := parseLogQuery(r.URL.Query(), now().UTC())
		if err != nil {
			return err
		}
		q.AccountID = identity.SessionFrom(r.Context()).AccountID
		page, err := reader.List(r.Context(), q)
		if errors.Is(err, requestlog.ErrBadCursor) {
			return web.Invalid(web.FieldError{Field: "cursor", Code: "invalid_cursor", Detail: "must be a next_cursor from an earlier page"})
		}
		if err != nil {
			return err
		}
		// next_cursor is always there: null on the last page.
		web.WriteJSON(w, http.StatusOK, LogPage{Logs: page.Items, NextCursor: cursorOrNull(page.Next)})
		return nil
	}
}

// LogPage is the answer of GET /v1/logs.
type LogPage struct {
	Logs       []requestlog.Item `json:"logs"`
	NextCursor *string           `json:"next_cursor"` // null on the last page
}

// cursorOrNull is a page's next cursor as the API shows it: null when
// there is no next page.
func cursorOrNull(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

// parseLogQuery bounds every parameter: limit 1..100, since and until RFC
// 3339 within the last 90 days, since before until, cursor at most 128 bytes.
func parseLogQuery(v map[string][]string, now time.Time) (requestlog.ListQuery, error) {
	q := requestlog.ListQuery{Limit: defaultLogLimit, Since: now.Add(-requestlog.Retention), Until: now}
	var f []web.FieldError
	for name, vals := range v {
		if len(vals) > 1 {
			f = append(f, web.FieldError{Field: name, Code: "repeated", Detail: "may be given once"})
		}
		switch name {
		case "limit", "cursor", "since", "until":
		default:
			f = append(f, web.FieldError{Field: name, Code: "unknown_parameter", Detail: "is not a parameter of this route"})
		}
	}
	get := func(name string) string {
		if vals := v[name]; len(vals) > 0 {
			return vals[0]
		}
		return ""
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLogLimit {
			f = append(f, web.FieldError{Field: "limit", Code: "invalid_limit", Detail: "must be a whole number from 1 to 100"})
		} else {
			q.Limit = n
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil || len(s) > 40 {
				f = append(f, web.FieldError{Field: p.name, Code: "invalid_time", Detail: "must be an RFC 3339 time such as 2026-01-31T12:00:00Z"})
				continue
			}
			*p.dst = t
		}
	}
	if q.Since.Before(now.Add(-requestlog.Retention)) {
		q.Since = now.Add(-requestlog.Retention) // nothing older is kept
	}
	if q.Since.After(now.Add(time.Minute)) {
		// Named as itself: "until must be after since" misled a client that sent no until.
		f = append(f, web.FieldError{Field: "since", Code: "invalid_range", Detail: "must not be in the future"})
		return q, web.Invalid(f...)
	}
	if q.Until.After(now.Add(time.Minute)) {
		q.Until = now.Add(time.Minute) // nothing newer exists (a minute of clock skew allowed)
	}
	if !q.Until.After(q.Since) {
		f = append(f, web.FieldError{Field: "until", Code: "invalid_range", Detail: "must be after since"})
	}
	q.Cursor = get("cursor")
	if len(q.Cursor) > 128 {
		f = append(f, web.FieldError{Field: "cursor", Code: "invalid_cursor", Detail: "must be a next_cursor from an earlier page"})
	}
	if len(f) > 0 {
		return q, web.Invalid(f...)
	}
	return q, nil
}
