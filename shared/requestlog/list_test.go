package requestlog_test

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/requestlog"
)

// listFixture is a request-log table holding, for account A, live items
// over the last few hours and items that have expired but are still stored
// (interleaved with the live ones), and items of account B and of anonymous
// requests at the same times.
type listFixture struct {
	db      *dynamodb.Client
	table   string
	clock   *testenv.Clock
	reader  *requestlog.Reader
	queries atomic.Int64
	now     time.Time
	live    []requestlog.Item // A's live items, newest first
	expired []requestlog.Item // A's expired items, still stored
	other   []requestlog.Item // B's items
	anon    []requestlog.Item
}

const (
	accountA = "acct_AAAAAAAAAAAAAAAAAAAAAAAAAA"
	accountB = "acct_BBBBBBBBBBBBBBBBBBBBBBBBBB"
)

// countingQuerier counts the reader's queries.
type countingQuerier struct {
	*dynamodb.Client
	n *atomic.Int64
}

func (q countingQuerier) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	q.n.Add(1)
	return q.Client.Query(ctx, in, opts...)
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	db, table := logTable(t)
	now := baseNow()
	f := &listFixture{db: db, table: table, clock: testenv.NewClock(now), now: now}
	f.reader = requestlog.NewReader(countingQuerier{Client: db, n: &f.queries}, table, f.clock.Now)

	// A: 31 live items, 13 minutes and 7 ms apart, the newest exactly now.
	for k := range 31 {
		f.live = append(f.live, itemAt(accountA, now.Add(-time.Duration(k)*(13*time.Minute+7*time.Millisecond))))
	}
	// A: expired but still stored, written directly: inside the live items'
	// time range (expires_at just passed, and exactly now), and one recorded
	// more than 90 days ago.
	for i, exp := range []int64{now.Unix() - 1, now.Unix(), now.Unix() - 3600} {
		it := itemAt(accountA, now.Add(-time.Duration(i*40+5)*time.Minute))
		it.ExpiresAt = exp
		f.expired = append(f.expired, it)
	}
	f.expired = append(f.expired, itemAt(accountA, now.Add(-requestlog.Retention-time.Hour)))
	for k := range 12 {
		at := now.Add(-time.Duration(k) * 13 * time.Minute)
		f.other = append(f.other, itemAt(accountB, at))
		f.anon = append(f.anon, itemAt("", at))
	}
	all := slices.Concat(f.live, f.expired, f.other, f.anon)
	putItems(t, db, table, all)
	if n := len(storedLogs(t, db, table)); n != len(all) {
		t.Fatalf("stored %d items, want %d", n, len(all))
	}
	return f
}

// listAll pages through the query and returns every item, checking each page.
func (f *listFixture) listAll(t *testing.T, q requestlog.ListQuery) (items []requestlog.Item, pages int) {
	t.Helper()
	for {
		page, err := f.reader.List(context.Background(), q)
		if err != nil {
			t.Fatalf("list (cursor %q): %v", q.Cursor, err)
		}
		pages++
		if len(page.Items) > q.Limit {
			t.Fatalf("page of %d items for limit %d", len(page.Items), q.Limit)
		}
		items = append(items, page.Items...)
		if page.Next == "" {
			return items, pages
		}
		if page.Next == q.Cursor {
			t.Fatalf("the cursor did not move: %q", page.Next)
		}
		if pages > 200 {
			t.Fatal("more than 200 pages")
		}
		q.Cursor = page.Next
	}
}

// within returns the live items of A between since and until (both
// inclusive, at millisecond resolution), newest first.
func (f *listFixture) within(since, until time.Time) []requestlog.Item {
	var out []requestlog.Item
	for _, it := range f.live {
		at, _ := time.Parse(time.RFC3339Nano, it.Time)
		if !at.Before(since.Truncate(time.Millisecond)) && !at.After(until) {
			out = append(out, it)
		}
	}
	return out
}

func requestIDs(items []requestlog.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.RequestID
	}
	return out
}

// checkSame fails unless got is exactly want, in want's order, without repeats.
func checkSame(t *testing.T, got, want []requestlog.Item) {
	t.Helper()
	g, w := requestIDs(got), requestIDs(want)
	seen := map[string]bool{}
	for _, id := range g {
		if seen[id] {
			t.Errorf("item %s returned twice", id)
		}
		seen[id] = true
	}
	if !slices.Equal(g, w) {
		t.Errorf("got %d items, want %d (newest first)\ngot  %v\nwant %v", len(g), len(w), g, w)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].SK <= got[i].SK {
			t.Errorf("not newest first: %s then %s", got[i-1].Time, got[i].Time)
		}
	}
}

// TestListPaginatesNewestFirst proves, for page sizes from 1 to 100, that
// following next_cursor returns every live item of the caller exactly once,
// newest first, never more than the limit per page, and never an item whose
// expires_at has passed (even while it is stored, and even when the
// requested range reaches back past 90 days), another account's item or an
// anonymous request's item.
func TestListPaginatesNewestFirst(t *testing.T) {
	f := newListFixture(t)
	since := f.now.Add(-requestlog.Retention - 2*time.Hour) // back past the expired item recorded 90 days ago
	for _, limit := range []int{1, 2, 4, 7, 31, 32, 100} {
		t.Run("limit "+strconv.Itoa(limit), func(t *testing.T) {
			got, pages := f.listAll(t, requestlog.ListQuery{AccountID: accountA, Since: since, Until: f.now, Limit: limit})
			checkSame(t, got, f.live)
			stored := len(f.live) + len(f.expired)
			if maxPages := stored/limit + 2; pages > maxPages {
				t.Errorf("%d pages for %d stored items at limit %d, want at most %d", pages, stored, limit, maxPages)
			}
			for _, it := range got {
				if it.ExpiresAt <= f.now.Unix() {
					t.Errorf("returned item %s expired at %d (now %d)", it.RequestID, it.ExpiresAt, f.now.Unix())
				}
			}
		})
	}
}

// TestListSinceUntil proves that only items between since and until are
// returned, both bounds inclusive at millisecond resolution.
func TestListSinceUntil(t *testing.T) {
	f := newListFixture(t)
	at := func(i int) time.Time { // the time of A's i-th newest live item
		v, _ := time.Parse(time.RFC3339Nano, f.live[i].Time)
		return v
	}
	tests := []struct {
		name         string
		since, until time.Time
		want         []requestlog.Item
	}{
		{"last hour", f.now.Add(-time.Hour), f.now, f.live[:5]},
		{"between two items, none", at(4).Add(time.Millisecond), at(3).Add(-time.Millisecond), nil},
		{"bounds exactly on items: both included", at(9), at(3), f.live[3:10]},
		{"a millisecond inside the bounds: both excluded", at(9).Add(time.Millisecond), at(3).Add(-time.Millisecond), f.live[4:9]},
		{"until before every item", f.now.Add(-48 * time.Hour), at(30).Add(-time.Millisecond), nil},
		{"since after every item", f.now.Add(time.Millisecond), f.now.Add(time.Hour), nil},
		{"everything", f.now.Add(-requestlog.Retention), f.now, f.live},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w := f.within(tt.since, tt.until); !slices.Equal(requestIDs(w), requestIDs(tt.want)) {
				t.Fatalf("fixture: the case expects %d items, the range holds %d", len(tt.want), len(w))
			}
			for _, limit := range []int{3, 100} {
				got, _ := f.listAll(t, requestlog.ListQuery{AccountID: accountA, Since: tt.since, Until: tt.until, Limit: limit})
				checkSame(t, got, tt.want)
			}
		})
	}
}

// TestListNeverReturnsAnExpiredItem follows one item across its expiry: it
// is listed while expires_at is ahead of the clock, and from the second it
// passes never again, though still stored.
func TestListNeverReturnsAnExpiredItem(t *testing.T) {
	f := newListFixture(t)
	it := itemAt(accountA, f.now.Add(-time.Minute-3*time.Millisecond))
	it.ExpiresAt = f.now.Unix() + 10
	putItems(t, f.db, f.table, []requestlog.Item{it})
	tests := []struct {
		offset time.Duration
		listed bool
	}{
		{0, true}, {9 * time.Second, true}, {10 * time.Second, false}, {11 * time.Second, false}, {time.Hour, false},
	}
	for _, tt := range tests {
		f.clock.Set(f.now.Add(tt.offset))
		got, _ := f.listAll(t, requestlog.ListQuery{AccountID: accountA, Since: f.now.Add(-time.Hour), Until: f.now.Add(tt.offset), Limit: 100})
		if listed := slices.Contains(requestIDs(got), it.RequestID); listed != tt.listed {
			t.Errorf("at expires_at%+ds: listed %v, want %v", int(tt.offset.Seconds())-10, listed, tt.listed)
		}
		for _, g := range got {
			if g.ExpiresAt <= f.clock.Now().Unix() {
				t.Errorf("at now+%v: returned an expired item %s", tt.offset, g.RequestID)
			}
		}
	}
	if _, ok := storedLogs(t, f.db, f.table)[key(it)]; !ok {
		t.Error("the expired item is no longer stored: the test proves nothing")
	}
}

// TestListOtherAccountsUnreachable proves that an account sees only its own
// items, even when it sends a cursor made from another account's items: the
// cursor only positions the query inside the caller's own partition.
func TestListOtherAccountsUnreachable(t *testing.T) {
	f := newListFixture(t)
	q := requestlog.ListQuery{Since: f.now.Add(-24 * time.Hour), Until: f.now, Limit: 2}

	// B sees exactly its own items.
	qb := q
	qb.AccountID = accountB
	gotB, _ := f.listAll(t, qb)
	if !sameSet(requestIDs(gotB), requestIDs(f.other)) {
		t.Fatalf("B sees %v, want its own %v", requestIDs(gotB), requestIDs(f.other))
	}

	// Every cursor B was handed, and cursors made from B's and anonymous items' keys, used by A.
	var cursors []string
	for {
		page, err := f.reader.List(context.Background(), qb)
		if err != nil {
			t.Fatal(err)
		}
		if page.Next == "" {
			break
		}
		cursors = append(cursors, page.Next)
		qb.Cursor = page.Next
	}
	for _, it := range slices.Concat(f.other, f.anon) {
		cursors = append(cursors, base64.RawURLEncoding.EncodeToString([]byte(it.SK)))
	}
	if len(cursors) < 10 {
		t.Fatalf("only %d cursors", len(cursors))
	}
	mine := map[string]bool{}
	for _, id := range requestIDs(f.live) {
		mine[id] = true
	}
	for _, c := range cursors {
		qa := q
		qa.AccountID, qa.Cursor, qa.Limit = accountA, c, 100
		page, err := f.reader.List(context.Background(), qa)
		if err != nil {
			t.Fatalf("A with B's cursor %q: %v", c, err)
		}
		for _, it := range page.Items {
			if !mine[it.RequestID] {
				t.Errorf("A with cursor %q got item %s, which is not A's", c, it.RequestID)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// TestListBadCursor proves that a cursor the reader did not make is refused
// with ErrBadCursor before any query, and that a well-formed cursor naming a
// key inside the caller's own range is only a position in the caller's
// partition.
func TestListBadCursor(t *testing.T) {
	f := newListFixture(t)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	bad := []struct{ name, cursor string }{
		{"not base64", "!!!not-a-cursor!!!"},
		{"padded standard base64", base64.StdEncoding.EncodeToString([]byte("1700000000000#req_x"))},
		{"plain text", "hello"},
		{"base64 of words", b64("hello world")},
		{"short time", b64("123#req_x")},
		{"no request id", b64("1700000000000#")},
		{"no separator", b64("1700000000000req_x")},
		{"a slash in the id", b64("1700000000000#req/x")},
		{"a second key part", b64("1700000000000#req_x#ACCOUNT#acct_B")},
		{"a newline after", b64("1700000000000#req_x\n")},
		{"an account partition", b64("ACCOUNT#" + accountB)},
		{"JSON key", b64(`{"pk":"ACCOUNT#` + accountB + `","sk":"1700000000000#x"}`)},
		{"id too long", b64("1700000000000#" + strings.Repeat("a", 65))},
		{"129 characters", strings.Repeat("A", 129)},
		{"NUL", b64("1700000000000#a\x00b")},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := f.queries.Load()
			page, err := f.reader.List(context.Background(), requestlog.ListQuery{AccountID: accountA,
				Since: f.now.Add(-24 * time.Hour), Until: f.now, Limit: 10, Cursor: tt.cursor})
			if !errors.Is(err, requestlog.ErrBadCursor) {
				t.Errorf("err %v, want ErrBadCursor", err)
			}
			if len(page.Items) != 0 {
				t.Errorf("returned %d items", len(page.Items))
			}
			if n := f.queries.Load() - before; n != 0 {
				t.Errorf("%d queries for a bad cursor, want none", n)
			}
		})
	}

	t.Run("forged, inside the caller's range", func(t *testing.T) {
		// The key just after A's 5th newest item: a valid position.
		v, _ := time.Parse(time.RFC3339Nano, f.live[4].Time)
		page, err := f.reader.List(context.Background(), requestlog.ListQuery{AccountID: accountA,
			Since: f.now.Add(-24 * time.Hour), Until: f.now, Limit: 3,
			Cursor: b64(itemAt(accountA, v.Add(time.Millisecond)).SK)})
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, page.Items, f.live[4:7])
	})
}

// TestListForgedCursorOutsideTheRangeIsErrBadCursor is a regression test
// for a bug it found: a cursor that is well formed (13 digits # id) but names
// a key outside the query's [since, until] range made DynamoDB refuse the
// query ("The provided starting key does not match the range key predicate",
// a ValidationException), which List returned as a plain error and GET
// /v1/logs answered with 500 internal_error. It happens without forgery,
// too: a client that changes since/until between pages, or pages near the
// 90-day edge while the lower bound moves past the cursor's key. Expected:
// ErrBadCursor (400 invalid_cursor) — or, for a cursor older than the range,
// an empty last page.
func TestListForgedCursorOutsideTheRangeIsErrBadCursor(t *testing.T) {
	f := newListFixture(t)
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	since, until := f.now.Add(-2*time.Hour), f.now.Add(-time.Hour)
	tests := []struct{ name, cursor string }{
		{"epoch", b64("0000000000000#forged")},
		{"far future", b64("9999999999999#forged")},
		{"A's own item, older than since", b64(f.live[20].SK)},
		{"A's own item, newer than until", b64(f.live[0].SK)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := f.reader.List(context.Background(), requestlog.ListQuery{AccountID: accountA,
				Since: since, Until: until, Limit: 10, Cursor: tt.cursor})
			if err != nil && !errors.Is(err, requestlog.ErrBadCursor) {
				t.Errorf("err = %v; want ErrBadCursor (or an empty page), not an error the handler answers with 500", err)
			}
			for _, it := range page.Items {
				if !slices.Contains(requestIDs(f.within(since, until)), it.RequestID) {
					t.Errorf("returned %s, outside the range", it.RequestID)
				}
			}
		})
	}
}
