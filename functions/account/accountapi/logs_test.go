package accountapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/web"
)

// logMembers are the only members an entry of GET /v1/logs may have.
var logMembers = []string{"request_id", "function", "method", "route", "status", "code", "latency_ms", "time"}

// sent is one request the test made, and what its log entry must say.
type sent struct {
	requestID, route string
	status           int
	code             string
	at               time.Time
}

// call makes a request and remembers what its log entry must say.
func (f *fixture) call(t *testing.T, target, token, route string, status int, code string) sent {
	t.Helper()
	at := f.clock.Now()
	r := f.do(t, http.MethodGet, target, token).want(t, status, code)
	return sent{requestID: r.requestID, route: route, status: status, code: code, at: at}
}

// checkEntries fails unless entries are exactly the requests, newest first,
// each as recorded.
func checkEntries(t *testing.T, entries []logEntry, newestFirst []sent) {
	t.Helper()
	got := make([]string, len(entries))
	for i, e := range entries {
		got[i] = e.RequestID
	}
	want := make([]string, len(newestFirst))
	for i, s := range newestFirst {
		want[i] = s.requestID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("entries %v, want newest first %v", got, want)
	}
	for i, e := range entries {
		s := newestFirst[i]
		if e.Function != "account" || e.Method != http.MethodGet || e.Route != s.route || e.Status != s.status ||
			e.Code != s.code || e.LatencyMs < 0 || e.Time != s.at.UTC().Format(time.RFC3339Nano) {
			t.Errorf("entry %+v, want route %q status %d code %q at %s", e, s.route, s.status, s.code, s.at.UTC().Format(time.RFC3339Nano))
		}
		want := slices.DeleteFunc(slices.Clone(logMembers), func(m string) bool { return m == "code" && s.code == "" })
		if !sameSet(e.members, want) {
			t.Errorf("entry members %v, want exactly %v", e.members, want)
		}
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// TestLogsShowTheCallersRequests: requests made through the account
// function are recorded and visible, newest first, in the caller's GET
// /v1/logs — with their route patterns, statuses and error codes, and only
// the documented members — while requests made without a session, to no
// route, and another account's are not; and no stored item holds the
// token, IP address, user agent, email or query string of any request.
func TestLogsShowTheCallersRequests(t *testing.T) {
	f := newFixture(t)
	a, tokA := f.account(t)
	b, tokB := f.account(t)

	var mine []sent // oldest first
	mine = append(mine, f.call(t, "/v1/account", tokA, "/v1/account", 200, ""))
	mine = append(mine, f.call(t, "/v1/logs?limit=0", tokA, "/v1/logs", 400, "validation_failed"))
	mine = append(mine, f.call(t, "/v1/logs?cursor=garbage!", tokA, "/v1/logs", 400, "validation_failed"))
	first := f.do(t, http.MethodGet, "/v1/logs", tokA)
	entries, _ := logsPage(t, first)
	checkEntries(t, entries, []sent{mine[2], mine[1], mine[0]})
	mine = append(mine, sent{requestID: first.requestID, route: "/v1/logs", status: 200, at: f.clock.Now().Add(-time.Second)})

	// Not the caller's: no route, wrong method, no session, a bad token, another account.
	f.do(t, http.MethodGet, "/v1/no-such-route?email=someone@example.com", tokA).want(t, 404, "not_found")
	f.do(t, http.MethodPost, "/v1/logs", tokA).want(t, 405, "method_not_allowed")
	f.do(t, http.MethodGet, "/v1/logs", "").want(t, 401, "unauthenticated")
	f.do(t, http.MethodGet, "/v1/account", tokA+"x").want(t, 401, "unauthenticated")
	theirs := f.call(t, "/v1/account", tokB, "/v1/account", 200, "")

	entries, next := logsPage(t, f.do(t, http.MethodGet, "/v1/logs?limit=100", tokA))
	if next != "" {
		t.Errorf("next_cursor %q on the only page", next)
	}
	slices.Reverse(mine)
	checkEntries(t, entries, mine)

	entries, _ = logsPage(t, f.do(t, http.MethodGet, "/v1/logs", tokB))
	checkEntries(t, entries, []sent{theirs})

	// Everything stored: the anonymous requests are there too, and no item
	// holds anything personal from any request.
	items := f.storedItems(t)
	anonymous := 0
	secrets := []string{tokA, tokB, strings.SplitN(tokA, ".", 3)[2], "198.51.100.7", "logs-test", "someone@example.com", "no-such-route", "email="}
	emailLike := regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	for _, av := range items {
		var m map[string]any
		if err := attributevalue.UnmarshalMap(av, &m); err != nil {
			t.Fatal(err)
		}
		text := fmt.Sprint(m)
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a request-log item holds %q: %s", s, text)
			}
		}
		if emailLike.MatchString(text) {
			t.Errorf("a request-log item holds an email address: %s", text)
		}
		if pk, _ := m["pk"].(string); strings.HasPrefix(pk, "ANONYMOUS#") {
			anonymous++
		} else if pk != "ACCOUNT#"+a && pk != "ACCOUNT#"+b {
			t.Errorf("item of an unexpected partition %q", pk)
		}
	}
	if anonymous != 4 {
		t.Errorf("%d anonymous items, want 4 (404, 405, two 401)", anonymous)
	}
	if want := len(mine) + 1 + 4 + 2; len(items) != want {
		t.Errorf("%d items stored, want %d (one per request)", len(items), want)
	}
}

// TestLogsPagination: following next_cursor with small pages returns every
// one of the caller's requests exactly once, newest first; the listing
// requests made while paging, being newer than the cursor, never slip in.
func TestLogsPagination(t *testing.T) {
	f := newFixture(t)
	_, tok := f.account(t)
	var mine []sent
	for range 9 {
		mine = append(mine, f.call(t, "/v1/account", tok, "/v1/account", 200, ""))
	}
	slices.Reverse(mine)
	for _, limit := range []int{1, 2, 4, 9, 10} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			since := url.QueryEscape(mine[len(mine)-1].at.Format(time.RFC3339Nano))
			until := url.QueryEscape(mine[0].at.Format(time.RFC3339Nano))
			all, pages := f.listAll(t, tok, fmt.Sprintf("limit=%d&since=%s&until=%s", limit, since, until))
			checkEntries(t, all, mine)
			if pages > len(mine)/limit+1 {
				t.Errorf("%d pages of %d for %d items", pages, limit, len(mine))
			}
		})
	}
	// Without bounds, paging also returns the listing requests made before the first page.
	all, _ := f.listAll(t, tok, "limit=3")
	if n := len(all); n < len(mine) {
		t.Errorf("%d entries, want at least %d", n, len(mine))
	}
	seen := map[string]bool{}
	for _, e := range all {
		if seen[e.RequestID] {
			t.Errorf("entry %s twice", e.RequestID)
		}
		seen[e.RequestID] = true
	}
}

// TestLogsQueryValidation: every parameter is bounded, every error is a 400
// validation_failed naming the field, and the valid edges are accepted.
func TestLogsQueryValidation(t *testing.T) {
	f := newFixture(t)
	_, tok := f.account(t)
	ts := func(d time.Duration) string { return url.QueryEscape(f.clock.Now().Add(d).UTC().Format(time.RFC3339)) }
	tests := []struct {
		name, query string
		field, code string // "" for a 200
	}{
		{"limit 1", "limit=1", "", ""},
		{"limit 100", "limit=100", "", ""},
		{"limit empty means the default", "limit=", "", ""},
		{"limit 0", "limit=0", "limit", "invalid_limit"},
		{"limit 101", "limit=101", "limit", "invalid_limit"},
		{"limit x", "limit=x", "limit", "invalid_limit"},
		{"limit -1", "limit=-1", "limit", "invalid_limit"},
		{"limit 1.5", "limit=1.5", "limit", "invalid_limit"},
		{"limit 1e2", "limit=1e2", "limit", "invalid_limit"},
		{"limit with a space", "limit=%205", "limit", "invalid_limit"},
		{"limit overflowing", "limit=99999999999999999999", "limit", "invalid_limit"},
		{"limit +5", "limit=%2B5", "", ""},
		{"since a word", "since=yesterday", "since", "invalid_time"},
		{"since a date only", "since=2026-01-01", "since", "invalid_time"},
		{"since without a zone", "since=2026-01-01T00:00:00", "since", "invalid_time"},
		{"since epoch seconds", "since=1767225600", "since", "invalid_time"},
		{"since too long", "since=2026-01-01T00:00:00.000000000000000000000000000000Z", "since", "invalid_time"},
		{"until a word", "until=now", "until", "invalid_time"},
		{"until with a space", "until=2026-01-01%2000:00:00Z", "until", "invalid_time"},
		{"since after until", "since=" + ts(-time.Hour) + "&until=" + ts(-2*time.Hour), "until", "invalid_range"},
		{"since equal to until", "since=" + ts(-time.Hour) + "&until=" + ts(-time.Hour), "until", "invalid_range"},
		{"until before 90 days ago", "until=" + ts(-91*24*time.Hour), "until", "invalid_range"},
		{"since in the future", "since=" + ts(time.Hour), "since", "invalid_range"},
		{"since before 90 days ago is clamped", "since=" + ts(-200*24*time.Hour), "", ""},
		{"an hour's window", "since=" + ts(-time.Hour) + "&until=" + ts(0), "", ""},
		{"offset zone", "since=" + url.QueryEscape(f.clock.Now().Add(-time.Hour).In(time.FixedZone("", -5*3600)).Format(time.RFC3339)), "", ""},
		{"unknown parameter", "foo=1", "foo", "unknown_parameter"},
		{"unknown parameter with valid ones", "limit=5&email=a%40example.com", "email", "unknown_parameter"},
		{"parameter names are case-sensitive", "Limit=5", "Limit", "unknown_parameter"},
		{"offset pagination is not a parameter", "offset=10", "offset", "unknown_parameter"},
		{"repeated limit", "limit=5&limit=6", "limit", "repeated"},
		{"repeated since", "since=" + ts(-time.Hour) + "&since=" + ts(-2*time.Hour), "since", "repeated"},
		{"repeated cursor", "cursor=a&cursor=b", "cursor", "repeated"},
		{"cursor garbage", "cursor=%21%21garbage%21%21", "cursor", "invalid_cursor"},
		{"cursor base64 of text", "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("hello")), "cursor", "invalid_cursor"},
		{"cursor of another key shape", "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("ACCOUNT#acct_x")), "cursor", "invalid_cursor"},
		{"cursor of 129 characters", "cursor=" + strings.Repeat("A", 129), "cursor", "invalid_cursor"},
		{"cursor of 10000 characters", "cursor=" + strings.Repeat("A", 10000), "cursor", "invalid_cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, http.MethodGet, "/v1/logs?"+tt.query, tok)
			if tt.field == "" && tt.code == "" {
				logsPage(t, r)
				return
			}
			r.want(t, http.StatusBadRequest, "validation_failed")
			if !slices.Contains(r.problem.Errors, web.FieldError{Field: tt.field, Code: tt.code, Detail: detailOf(r.problem.Errors, tt.field, tt.code)}) ||
				detailOf(r.problem.Errors, tt.field, tt.code) == "" {
				t.Errorf("errors %+v, want field %q code %q with a detail", r.problem.Errors, tt.field, tt.code)
			}
			if strings.Contains(string(r.raw), "AAAAAAAAAAAAAAAAAAAA") || strings.Contains(string(r.raw), "garbage") {
				t.Errorf("the problem echoes the input: %s", r.raw)
			}
		})
	}
}

func detailOf(errs []web.FieldError, field, code string) string {
	for _, e := range errs {
		if e.Field == field && e.Code == code {
			return e.Detail
		}
	}
	return ""
}

// TestLogsNeedASession: without a live session GET /v1/logs answers 401 and
// shows nothing.
func TestLogsNeedASession(t *testing.T) {
	f := newFixture(t)
	acct, tok := f.account(t)
	f.call(t, "/v1/account", tok, "/v1/account", 200, "")
	_, revoked := f.account(t)
	_, idle := f.account(t)
	sessions, err := f.accounts.Sessions(context.Background(), acct)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions %v, %v", sessions, err)
	}
	revokedAcct := strings.SplitN(revoked, ".", 2)[0]
	rs, err := f.accounts.Sessions(context.Background(), revokedAcct)
	if err != nil || len(rs) != 1 {
		t.Fatalf("sessions %v, %v", rs, err)
	}
	if err := f.accounts.RevokeSession(context.Background(), revokedAcct, rs[0].ID); err != nil {
		t.Fatal(err)
	}
	flipped := []byte(tok)
	flipped[len(flipped)-1] ^= 1 // the secret's last character changed
	tests := []struct {
		name  string
		token string
	}{
		{name: "no credentials"},
		{name: "garbage bearer token", token: "not-a-token"},
		{name: "another account id with the session's secret", token: strings.Replace(tok, acct, revokedAcct, 1)},
		{name: "revoked session", token: revoked},
		{name: "a token with its secret changed", token: string(flipped)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// do decodes the answer as a problem document with no unknown member: no logs.
			f.do(t, http.MethodGet, "/v1/logs", tt.token).want(t, http.StatusUnauthorized, "unauthenticated")
		})
	}
	t.Run("idle session", func(t *testing.T) {
		f.clock.Advance(sessionPolicy.IdleTimeout + time.Minute)
		f.do(t, http.MethodGet, "/v1/logs", idle).want(t, http.StatusUnauthorized, "unauthenticated")
	})
}

// TestLogsNeverReturnAnExpiredItem: an item of the caller whose expires_at
// has passed is not returned even though it is still stored and inside the
// requested range; a live one written the same way is.
func TestLogsNeverReturnAnExpiredItem(t *testing.T) {
	f := newFixture(t)
	acct, tok := f.account(t)
	now := f.clock.Now()
	c := web.Completed{AccountID: acct, Function: "account", Method: "GET", Route: "GET /v1/account", Status: 200}
	c.RequestID = "req_expired"
	expired := requestlog.NewItem(c, now.Add(-time.Hour))
	expired.ExpiresAt = now.Unix() - 1
	c.RequestID = "req_expires_now"
	expiresNow := requestlog.NewItem(c, now.Add(-50*time.Minute))
	expiresNow.ExpiresAt = now.Unix()
	c.RequestID = "req_live"
	live := requestlog.NewItem(c, now.Add(-30*time.Minute))
	c.RequestID = "req_recorded_91_days_ago"
	old := requestlog.NewItem(c, now.Add(-91*24*time.Hour))
	for _, it := range []requestlog.Item{expired, expiresNow, live, old} {
		f.putLog(t, it)
	}
	entries, _ := logsPage(t, f.do(t, http.MethodGet, "/v1/logs?since="+url.QueryEscape(now.Add(-200*24*time.Hour).Format(time.RFC3339)), tok))
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.RequestID)
	}
	if !slices.Equal(ids, []string{"req_live"}) {
		t.Errorf("entries %v, want only req_live", ids)
	}
	stored := map[string]bool{}
	for _, av := range f.storedItems(t) {
		var it requestlog.Item
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			t.Fatal(err)
		}
		stored[it.RequestID] = true
	}
	for _, id := range []string{"req_expired", "req_expires_now", "req_recorded_91_days_ago"} {
		if !stored[id] {
			t.Errorf("%s is no longer stored: the test proves nothing", id)
		}
	}
}

// TestLogsCursorFromAnotherRangeIsNot500 is a regression test for a bug it
// found: a client pages GET /v1/logs, then asks for the next page with a
// narrower range (or the 90-day lower bound moves past the cursor's key
// between two pages): the cursor is one the reader made, but its key lies
// outside the new [since, until]; DynamoDB refused the query with a
// ValidationException ("The provided starting key does not match the range
// key predicate") and the handler answered 500 internal_error. Expected: 400
// invalid_cursor (or a page); never a 500 for a client's input.
func TestLogsCursorFromAnotherRangeIsNot500(t *testing.T) {
	f := newFixture(t)
	_, tok := f.account(t)
	var at []time.Time
	for range 4 {
		at = append(at, f.call(t, "/v1/account", tok, "/v1/account", 200, "").at)
	}
	_, next := logsPage(t, f.do(t, http.MethodGet, "/v1/logs?limit=2", tok))
	if next == "" {
		t.Fatal("no next_cursor")
	}
	// The cursor points at the 3rd newest item; ask for only the newest two.
	r := f.do(t, http.MethodGet, "/v1/logs?limit=2&since="+url.QueryEscape(at[2].Add(time.Millisecond).Format(time.RFC3339Nano))+"&cursor="+next, tok)
	if r.status >= 500 {
		t.Errorf("answered %d %s: %s; want 400 invalid_cursor or a page", r.status, r.problem.Code, r.raw)
	}
}

// TestLogsFarFutureUntilIsNot500 is a regression test for a bug it found:
// parseLogQuery put no upper bound on until, and the reader compares sort
// keys as strings of 13 digits: an until after 2286-11-20 has 14 digits, and
// up to about year 2603 (and again in years 5138–7600) its key sorted below
// since's, so DynamoDB refused the BETWEEN ("upper bound ... lower bound")
// and the handler answered 500. Expected: 200 (until clamped to now) or 400
// until invalid_time; never a 500.
func TestLogsFarFutureUntilIsNot500(t *testing.T) {
	f := newFixture(t)
	_, tok := f.account(t)
	for _, until := range []string{"2286-11-20T17:46:40Z", "2300-01-01T00:00:00Z", "6000-01-01T00:00:00Z"} {
		r := f.do(t, http.MethodGet, "/v1/logs?until="+until, tok)
		if r.status >= 500 {
			t.Errorf("until=%s: answered %d %s; want 200 or 400", until, r.status, r.problem.Code)
		}
	}
	for _, until := range []string{"2100-01-01T00:00:00Z", "9999-12-31T23:59:59Z"} { // sort above since by luck: accepted today
		if r := f.do(t, http.MethodGet, "/v1/logs?until="+until, tok); r.status != 200 && r.status != 400 {
			t.Errorf("until=%s: answered %d", until, r.status)
		}
	}
}
