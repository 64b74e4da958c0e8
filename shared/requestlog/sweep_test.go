package requestlog_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/requestlog"
)

// sweepDB wraps the raw client for the sweeper: it counts queries (and
// checks that each reads the expiry index), checks that every batch write is
// a delete by key, and injects throttling on BatchWriteItem.
type sweepDB struct {
	*dynamodb.Client
	t     testing.TB
	table string

	mu         sync.Mutex
	queries    int
	batchCalls int
	// partial: this many calls process only the first half of their batch
	// and hand the rest back as UnprocessedItems.
	partial int
	// failCall: the call with this number (1-based) fails as a whole.
	failCall int
	// alwaysFail: every call fails as a whole.
	alwaysFail bool
	// stuck: deletes of these items (pk|sk) are always handed back
	// unprocessed, as a partition that stays throttled would.
	stuck     map[string]bool
	throttled int // requests handed back or failed
}

func (d *sweepDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	d.mu.Lock()
	d.queries++
	d.mu.Unlock()
	if aws.ToString(in.IndexName) != requestlog.IndexName || aws.ToString(in.TableName) != d.table {
		d.t.Errorf("the sweep queried %s/%s, want only the expiry index", aws.ToString(in.TableName), aws.ToString(in.IndexName))
	}
	return d.Client.Query(ctx, in, opts...)
}

func (d *sweepDB) queryCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries
}

func (d *sweepDB) batchCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.batchCalls
}

func (d *sweepDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	reqs := in.RequestItems[d.table]
	if len(in.RequestItems) != 1 || len(reqs) == 0 || len(reqs) > 25 {
		d.t.Errorf("batch of %d requests over %d tables", len(reqs), len(in.RequestItems))
	}
	for _, r := range reqs {
		if r.PutRequest != nil || r.DeleteRequest == nil || len(r.DeleteRequest.Key) != 2 {
			d.t.Errorf("the sweep wrote something other than a delete by key: %+v", r)
		}
	}
	d.mu.Lock()
	d.batchCalls++
	n := d.batchCalls
	fail := d.alwaysFail || n == d.failCall
	half := !fail && d.partial > 0 && len(reqs) > 1
	if half {
		d.partial--
	}
	if fail {
		d.throttled += len(reqs)
	} else if half {
		d.throttled += len(reqs) - len(reqs)/2
	}
	d.mu.Unlock()
	if fail {
		return nil, &types.ProvisionedThroughputExceededException{Message: aws.String("injected: the whole call throttled")}
	}
	var done, rest []types.WriteRequest
	switch {
	case half:
		done, rest = reqs[:len(reqs)/2], reqs[len(reqs)/2:]
	case len(d.stuck) > 0:
		for _, r := range reqs {
			k := r.DeleteRequest.Key
			if d.stuck[k["pk"].(*types.AttributeValueMemberS).Value+"|"+k["sk"].(*types.AttributeValueMemberS).Value] {
				rest = append(rest, r)
			} else {
				done = append(done, r)
			}
		}
		if len(done) == 0 {
			return &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{d.table: rest}}, nil
		}
	default:
		return d.Client.BatchWriteItem(ctx, in, opts...)
	}
	out, err := d.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{d.table: done}}, opts...)
	if err != nil {
		return nil, err
	}
	out.UnprocessedItems = map[string][]types.WriteRequest{d.table: append(out.UnprocessedItems[d.table], rest...)}
	return out, nil
}

// sleeps records the sweeper's backoff without sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) Sleep(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// sweepFixture is a request-log table holding overdue items over several
// past hours — in every hour, two in each of the 16 shards, the higher the
// shard the earlier the expiry — and in the current hour up to now, and live
// items, some in the very index partitions of overdue ones.
type sweepFixture struct {
	db      *dynamodb.Client
	wrapped *sweepDB
	table   string
	now     time.Time
	overdue []requestlog.Item
	live    []requestlog.Item
	sleeps  *sleeps
}

const (
	sweepLookback = 12 * time.Hour
	sweepRevisit  = 6 * time.Hour
)

func newSweepFixture(t *testing.T, hours int) *sweepFixture {
	t.Helper()
	db, table := logTable(t)
	now := baseNow()
	f := &sweepFixture{db: db, table: table, now: now, sleeps: &sleeps{}}
	f.wrapped = &sweepDB{Client: db, t: t, table: table}
	accounts := []string{accountA, accountB, ""}
	current := now.Truncate(time.Hour)
	n := 0
	acct := func() string { n++; return accounts[n%len(accounts)] }
	for b := 1; b <= hours; b++ {
		hour := current.Add(-time.Duration(b) * time.Hour)
		for s := range requestlog.Shards {
			for j := range 2 {
				exp := hour.Add(time.Duration(59-3*s)*time.Minute + time.Duration(j*7)*time.Second)
				f.overdue = append(f.overdue, itemInShard(t, acct(), exp.Add(-requestlog.Retention), s))
			}
		}
	}
	// Earlier in the current hour, up to and including now.
	for _, exp := range []time.Time{current, current.Add(time.Second), now.Add(-10 * time.Minute), now.Add(-time.Second), now} {
		for range 3 {
			f.overdue = append(f.overdue, overdueItem(acct(), exp))
		}
	}
	// Live: later in the current hour (same index partitions as the overdue
	// ones above), the next hours, and recent requests expiring in 89 days.
	for _, exp := range []time.Time{now.Add(time.Second), now.Add(10 * time.Minute), current.Add(time.Hour - time.Second),
		current.Add(time.Hour), now.Add(2 * time.Hour), now.Add(89 * 24 * time.Hour)} {
		for range 4 {
			f.live = append(f.live, overdueItem(acct(), exp))
		}
	}
	for s := range requestlog.Shards { // one live item in every shard of the current hour
		f.live = append(f.live, itemInShard(t, acct(), now.Add(time.Duration(s+1)*time.Second).Add(-requestlog.Retention), s))
	}
	putItems(t, db, table, slices.Concat(f.overdue, f.live))
	if got := len(storedLogs(t, db, table)); got != len(f.overdue)+len(f.live) {
		t.Fatalf("stored %d items, want %d", got, len(f.overdue)+len(f.live))
	}
	return f
}

// sweeper returns a sweeper over the wrapped client whose budget clock is clock.
func (f *sweepFixture) sweeper(clock func() time.Time) *requestlog.Sweeper {
	return &requestlog.Sweeper{DB: f.wrapped, Table: f.table, Now: func() time.Time { return f.now },
		Clock: clock, Sleep: f.sleeps.Sleep, Lookback: sweepLookback, Revisit: sweepRevisit, Parallelism: 4}
}

// farBudget is a budget end no test reaches.
func farBudget() time.Time { return time.Now().Add(10 * time.Minute) }

// remaining scans the table and returns the overdue items still stored, and
// fails if a live item was deleted or changed.
func (f *sweepFixture) remaining(t *testing.T) []requestlog.Item {
	t.Helper()
	stored := storedLogs(t, f.db, f.table)
	for _, it := range f.live {
		if got, ok := stored[key(it)]; !ok || got != it {
			t.Errorf("live item %s (expires %s) was deleted or changed", it.RequestID, time.Unix(it.ExpiresAt, 0).UTC())
		}
	}
	var left []requestlog.Item
	for _, it := range f.overdue {
		if _, ok := stored[key(it)]; ok {
			left = append(left, it)
		}
	}
	if len(stored) != len(f.live)+len(left) {
		t.Errorf("%d items stored, want %d live + %d overdue", len(stored), len(f.live), len(left))
	}
	for _, it := range left {
		if it.ExpiresAt > f.now.Unix() {
			t.Fatalf("fixture: overdue item expires after now")
		}
	}
	return left
}

// earliest is the earliest expires_at of the items.
func earliest(items []requestlog.Item) int64 {
	e := int64(math.MaxInt64)
	for _, it := range items {
		e = min(e, it.ExpiresAt)
	}
	return e
}

func (f *sweepFixture) watermark(t *testing.T) time.Time {
	t.Helper()
	w, ok := watermarkHour(t, f.db, f.table)
	if !ok {
		t.Fatal("no watermark stored")
	}
	return w
}

// TestSweepDeletesExactlyTheOverdueItems: one sweep deletes every item whose
// expires_at has passed (over eight past hours, every shard, and the current
// hour up to and including now), reading the expiry index only, examining
// exactly as many items as it deletes; it leaves every live item — including
// those in the same index partitions — untouched, and moves the watermark to
// the current hour. A second sweep examines nothing and reads only the
// revisited hours behind the watermark and the current hour's 16 partitions
// (the current hour twice: sweep and count).
func TestSweepDeletesExactlyTheOverdueItems(t *testing.T) {
	f := newSweepFixture(t, 8)
	n := len(f.overdue)
	r, err := f.sweeper(time.Now).Sweep(context.Background(), farBudget())
	if err != nil {
		t.Fatal(err)
	}
	want := requestlog.SweepReport{Examined: n, Deleted: n, Finished: true}
	if r != want {
		t.Errorf("report %+v, want %+v", r, want)
	}
	if left := f.remaining(t); len(left) != 0 {
		t.Errorf("%d overdue items left after the sweep, first expired %s", len(left), time.Unix(left[0].ExpiresAt, 0).UTC())
	}
	if w := f.watermark(t); !w.Equal(f.now.Truncate(time.Hour)) {
		t.Errorf("watermark %s, want the current hour %s", w, f.now.Truncate(time.Hour))
	}
	if len(f.sleeps.all()) != 0 {
		t.Errorf("slept %v without any throttling", f.sleeps.all())
	}
	if b, minimum := f.wrapped.batchCount(), (n+24)/25; b < minimum || b > n {
		t.Errorf("%d BatchWriteItem calls for %d deletes", b, n)
	}

	var metrics bytes.Buffer
	requestlog.EmitMetrics(&metrics, f.now, "atrium-housekeeping",
		requestlog.Metric{Name: "RequestLogsDeleted", Unit: "Count", Value: float64(r.Deleted)},
		requestlog.Metric{Name: "RequestLogsOverdue", Unit: "Count", Value: float64(r.LeftOverdue)},
		requestlog.Metric{Name: "OldestOverdueRequestLogAge", Unit: "Seconds", Value: r.OldestAgeS})
	if v := parseEMF(t, metrics.String(), "atrium-housekeeping", f.now); v["RequestLogsDeleted"] != float64(n) {
		t.Errorf("EMF values %v", v)
	}

	before := f.wrapped.queryCount()
	r2, err := f.sweeper(time.Now).Sweep(context.Background(), farBudget())
	if err != nil {
		t.Fatal(err)
	}
	if want := (requestlog.SweepReport{Finished: true}); r2 != want {
		t.Errorf("second sweep %+v, want %+v", r2, want)
	}
	revisited := int(sweepRevisit / time.Hour)
	if q, most := f.wrapped.queryCount()-before, (revisited+2)*requestlog.Shards; q > most {
		t.Errorf("the second sweep made %d queries, want at most %d (%d revisited hours and the current hour)", q, most, revisited)
	}
	f.remaining(t)
}

// TestSweepRetriesThrottledDeletes injects throttling on BatchWriteItem —
// part of each batch handed back as UnprocessedItems for the first calls,
// and a whole call failing — and proves that after the retries nothing
// overdue is left, nothing live is touched, every retry was preceded by a
// backoff between 1 ms and 1 s, and the report counts each item once.
func TestSweepRetriesThrottledDeletes(t *testing.T) {
	tests := []struct {
		name     string
		partial  int
		failCall int
	}{
		{name: "half of each batch unprocessed, 6 calls", partial: 6},
		{name: "the first call fails as a whole", failCall: 1},
		{name: "both, the failure in the middle", partial: 8, failCall: 4},
		{name: "every batch of the sweep partly unprocessed", partial: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSweepFixture(t, 3)
			f.wrapped.partial, f.wrapped.failCall = tt.partial, tt.failCall
			n := len(f.overdue)
			r, err := f.sweeper(time.Now).Sweep(context.Background(), farBudget())
			if err != nil {
				t.Fatal(err)
			}
			if want := (requestlog.SweepReport{Examined: n, Deleted: n, Finished: true}); r != want {
				t.Errorf("report %+v, want %+v", r, want)
			}
			if left := f.remaining(t); len(left) != 0 {
				t.Errorf("%d overdue items left after retries", len(left))
			}
			s := f.sleeps.all()
			if len(s) == 0 || f.wrapped.throttled == 0 {
				t.Fatalf("%d backoffs for %d throttled requests: the injection did not happen", len(s), f.wrapped.throttled)
			}
			for _, d := range s {
				if d < time.Millisecond || d > time.Second+time.Millisecond {
					t.Errorf("backoff %v outside [1ms, 1s]", d)
				}
			}
			// Every call is a batch's first attempt or follows a backoff. The
			// sweep fills batches of 25 across an hour's shards, so the first
			// attempts are the full batches plus at most one partial batch per
			// deleter at the end of each hour.
			hours := map[string]bool{}
			for _, it := range f.overdue {
				hours[it.ExpiryShard[:10]] = true
			}
			first := f.wrapped.batchCount() - len(s)
			if lo, hi := (n+24)/25, (n+24)/25+4*len(hours); first < lo || first > hi {
				t.Errorf("%d first attempts of BatchWriteItem (%d calls, %d after a backoff), want %d to %d",
					first, f.wrapped.batchCount(), len(s), lo, hi)
			}
			if w := f.watermark(t); !w.Equal(f.now.Truncate(time.Hour)) {
				t.Errorf("watermark %s, want %s", w, f.now.Truncate(time.Hour))
			}
		})
	}
}

// TestSweepGivesUpOnPersistentThrottling: when every BatchWriteItem fails,
// the sweep still ends (bounded retries, no endless loop), deletes nothing,
// reports every overdue item as left, and keeps its watermark before them so
// the next run tries again.
func TestSweepGivesUpOnPersistentThrottling(t *testing.T) {
	f := newSweepFixture(t, 2)
	f.wrapped.alwaysFail = true
	n := len(f.overdue)
	done := make(chan struct{})
	var r requestlog.SweepReport
	go func() {
		defer close(done)
		r, _ = f.sweeper(time.Now).Sweep(context.Background(), farBudget()) // an error is allowed here; the report must be right
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the sweep did not end under persistent throttling")
	}
	if r.Deleted != 0 || r.LeftOverdue != n {
		t.Errorf("report %+v, want 0 deleted and %d left overdue", r, n)
	}
	if left := f.remaining(t); len(left) != n {
		t.Errorf("%d overdue items left, want all %d", len(left), n)
	}
	if calls, limit := f.wrapped.batchCount(), 11*((n+24)/25+2*requestlog.Shards*3); calls > limit {
		t.Errorf("%d BatchWriteItem calls, want at most %d (bounded retries)", calls, limit)
	}
	if w, ok := watermarkHour(t, f.db, f.table); ok && w.Unix() > earliest(f.overdue) {
		t.Errorf("watermark %s moved past overdue items expiring at %s", w, time.Unix(earliest(f.overdue), 0).UTC())
	}
}

// budgetClock passes the budget end once the sweep has made k queries.
func budgetClock(db *sweepDB, end time.Time, k int) func() time.Time {
	return func() time.Time {
		if db.queryCount() >= k {
			return end.Add(time.Second)
		}
		return end.Add(-time.Minute)
	}
}

// Query counts at which the budget runs out, for a fixture of 8 past hours
// swept from a 12-hour lookback: 4 empty hours (64 queries), then one query
// per shard (two items each).
var budgetStops = []struct {
	name string
	k    int
}{
	{"before the first query", 0},
	{"in the empty hours", 40},
	{"at an hour boundary", 64 + 16},
	{"in the middle of an hour", 64 + 16 + 6},
	{"deep in the overdue hours", 64 + 16*5 + 11},
}

// TestSweepTimeBudget: a sweep whose budget clock passes the end after K
// queries stops cleanly (Finished false, counts consistent, nothing live
// deleted, the watermark never past an overdue item), and the next sweep
// carries on and finishes: all overdue items gone, nothing live deleted.
func TestSweepTimeBudget(t *testing.T) {
	for _, tt := range budgetStops {
		t.Run(tt.name, func(t *testing.T) {
			f := newSweepFixture(t, 8)
			n := len(f.overdue)
			end := time.Now().Add(time.Hour)
			r, err := f.sweeper(budgetClock(f.wrapped, end, tt.k)).Sweep(context.Background(), end)
			if err != nil {
				t.Fatal(err)
			}
			left := f.remaining(t)
			if r.Finished {
				t.Errorf("report %+v: finished, though the budget ran out", r)
			}
			if r.Examined != r.Deleted || r.Deleted != n-len(left) || r.LeftOverdue != len(left) {
				t.Errorf("report %+v, but %d of %d overdue items are left", r, len(left), n)
			}
			if len(left) == 0 || (tt.k > 64 && r.Deleted == 0) {
				t.Errorf("the stop point is wrong: %d deleted, %d left", r.Deleted, len(left))
			}
			if w, ok := watermarkHour(t, f.db, f.table); ok && w.Unix() > earliest(left) {
				t.Errorf("watermark %s is past an overdue item expiring at %s", w, time.Unix(earliest(left), 0).UTC())
			}

			r2, err := f.sweeper(time.Now).Sweep(context.Background(), farBudget())
			if err != nil {
				t.Fatal(err)
			}
			if want := (requestlog.SweepReport{Examined: len(left), Deleted: len(left), Finished: true}); r2 != want {
				t.Errorf("next sweep %+v, want %+v", r2, want)
			}
			if l := f.remaining(t); len(l) != 0 {
				t.Errorf("%d overdue items left after the next sweep", len(l))
			}
		})
	}
}

// TestSweepOldestOverdueAgeWhenTheBudgetStops: when the budget stops a
// sweep, report.OldestAgeS must be now − the earliest expires_at still
// stored (within a second): it feeds the alarm "oldest overdue item older
// than two hours". Regression test for a bug it found: measureLeft asked for
// the earliest expiry only in the first shard (0..15) with overdue items of
// the first hour that had any (the `oldest == 0` argument), never in that
// hour's later shards, so when an earlier item sat in a later shard the age
// was understated by up to an hour (45 minutes here). This fixture puts the
// earlier expiries in the higher shards, as any hour's items may be.
func TestSweepOldestOverdueAgeWhenTheBudgetStops(t *testing.T) {
	for _, tt := range budgetStops {
		t.Run(tt.name, func(t *testing.T) {
			f := newSweepFixture(t, 8)
			end := time.Now().Add(time.Hour)
			r, err := f.sweeper(budgetClock(f.wrapped, end, tt.k)).Sweep(context.Background(), end)
			if err != nil {
				t.Fatal(err)
			}
			left := f.remaining(t)
			if len(left) == 0 {
				t.Fatal("nothing left: the budget did not stop the sweep")
			}
			want := f.now.Sub(time.Unix(earliest(left), 0)).Seconds()
			if math.Abs(r.OldestAgeS-want) > 1 || math.Abs(r.OldestAge.Seconds()-want) > 1 {
				t.Errorf("OldestAgeS %.0f s (%s), want %.0f s: now − the earliest remaining expires_at %s",
					r.OldestAgeS, r.OldestAge, want, time.Unix(earliest(left), 0).UTC().Format(time.RFC3339))
			}
		})
	}
}

// TestSweepTwoAtOnce runs two sweeps at the same moment — two sweepers (two
// Lambda instances), and one sweeper called twice concurrently — and proves
// that neither fails, each reports nothing left, every overdue item is gone,
// no live item is touched, and the watermark ends at the current hour.
func TestSweepTwoAtOnce(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared sweeper %v", shared), func(t *testing.T) {
			f := newSweepFixture(t, 8)
			n := len(f.overdue)
			one := f.sweeper(time.Now)
			var (
				wg      sync.WaitGroup
				start   = make(chan struct{})
				reports [2]requestlog.SweepReport
				errs    [2]error
			)
			for i := range 2 {
				sw := one
				if !shared {
					sw = f.sweeper(time.Now)
				}
				wg.Go(func() {
					<-start
					reports[i], errs[i] = sw.Sweep(context.Background(), farBudget())
				})
			}
			close(start)
			wg.Wait()
			total := 0
			for i := range 2 {
				if errs[i] != nil {
					t.Errorf("sweep %d: %v", i, errs[i])
				}
				r := reports[i]
				if !r.Finished || r.LeftOverdue != 0 || r.Examined > n || r.Deleted > r.Examined {
					t.Errorf("sweep %d: report %+v (of %d overdue)", i, r, n)
				}
				total += r.Deleted
				t.Logf("sweep %d: %+v", i, r)
			}
			if total < n {
				t.Errorf("the two sweeps deleted %d in all, want at least %d", total, n)
			}
			if left := f.remaining(t); len(left) != 0 {
				t.Errorf("%d overdue items left", len(left))
			}
			if w := f.watermark(t); !w.Equal(f.now.Truncate(time.Hour)) {
				t.Errorf("watermark %s, want %s", w, f.now.Truncate(time.Hour))
			}
		})
	}
}

// TestSweepAnItemLeftBehindHoldsTheWatermark: a delete that keeps failing
// (its partition throttled past every retry) in the oldest overdue hour,
// while the later hours are emptied. The sweep reports the item as left,
// keeps its watermark at or before that item's hour (it used to move past
// it as soon as a later hour was found empty, so no run ever read that hour
// again), and the next run deletes it.
func TestSweepAnItemLeftBehindHoldsTheWatermark(t *testing.T) {
	for _, tt := range []struct {
		name string
		pick func(items []requestlog.Item) requestlog.Item
	}{
		{"the earliest overdue item", func(items []requestlog.Item) requestlog.Item {
			return slices.MinFunc(items, func(a, b requestlog.Item) int { return int(a.ExpiresAt - b.ExpiresAt) })
		}},
		{"an item of the middle hour", func(items []requestlog.Item) requestlog.Item { return items[len(items)/3] }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newSweepFixture(t, 3)
			stuck := tt.pick(f.overdue)
			stuckHour := time.Unix(stuck.ExpiresAt, 0).UTC().Truncate(time.Hour)
			if !stuckHour.Before(f.now.Truncate(time.Hour).Add(-time.Hour)) {
				t.Fatalf("fixture: the stuck item's hour %s has no emptied past hour after it", stuckHour)
			}
			f.wrapped.stuck = map[string]bool{key(stuck): true}
			n := len(f.overdue)
			r, err := f.sweeper(time.Now).Sweep(context.Background(), farBudget())
			if err != nil {
				t.Fatal(err)
			}
			if r.Deleted != n-1 || r.LeftOverdue != 1 || !r.Finished {
				t.Errorf("report %+v, want %d deleted and the stuck item left overdue", r, n-1)
			}
			if want := f.now.Sub(time.Unix(stuck.ExpiresAt, 0)).Seconds(); math.Abs(r.OldestAgeS-want) > 1 {
				t.Errorf("OldestAgeS %.0f, want %.0f (the stuck item's)", r.OldestAgeS, want)
			}
			if left := f.remaining(t); len(left) != 1 || key(left[0]) != key(stuck) {
				t.Fatalf("left %d overdue items, want only the stuck one", len(left))
			}
			if w := f.watermark(t); w.After(stuckHour) {
				t.Errorf("watermark %s moved past the hour %s of an item still overdue", w, stuckHour)
			}

			f.wrapped.stuck = nil
			r2, err := f.sweeper(time.Now).Sweep(context.Background(), farBudget())
			if err != nil {
				t.Fatal(err)
			}
			if want := (requestlog.SweepReport{Examined: 1, Deleted: 1, Finished: true}); r2 != want {
				t.Errorf("next sweep %+v, want %+v", r2, want)
			}
			if left := f.remaining(t); len(left) != 0 {
				t.Errorf("%d overdue items left after the next sweep", len(left))
			}
			if w := f.watermark(t); !w.Equal(f.now.Truncate(time.Hour)) {
				t.Errorf("watermark %s, want the current hour %s", w, f.now.Truncate(time.Hour))
			}
		})
	}
}

// TestSweepRevisitsHoursBehindTheWatermark: after a sweep has passed them,
// items reach expiry hours behind the watermark (an index backfill, a late
// write). The next sweep reads those hours again — up to Revisit behind the
// watermark, DefaultRevisit when unset — and deletes them, touching nothing live.
func TestSweepRevisitsHoursBehindTheWatermark(t *testing.T) {
	for _, tt := range []struct {
		name    string
		revisit time.Duration // of the sweeper; 0 = the default
		behind  []time.Duration
	}{
		{"an hour behind", sweepRevisit, []time.Duration{time.Hour}},
		{"the oldest revisited hour", sweepRevisit, []time.Duration{sweepRevisit - 30*time.Minute}},
		{"several hours, every shard", sweepRevisit, []time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour, 5 * time.Hour}},
		{"default: most of a day behind", 0, []time.Duration{20 * time.Hour, requestlog.DefaultRevisit - time.Minute}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newSweepFixture(t, 2)
			if _, err := f.sweeper(time.Now).Sweep(context.Background(), farBudget()); err != nil {
				t.Fatal(err)
			}
			mark := f.watermark(t)
			if !mark.Equal(f.now.Truncate(time.Hour)) {
				t.Fatalf("setup: watermark %s, want the current hour", mark)
			}
			var late []requestlog.Item
			for _, d := range tt.behind {
				for shard := range requestlog.Shards {
					late = append(late, itemInShard(t, accountA, mark.Add(-d).Add(-requestlog.Retention), shard))
				}
			}
			putItems(t, f.db, f.table, late)
			f.overdue = append(f.overdue, late...)

			sw := f.sweeper(time.Now)
			sw.Revisit = tt.revisit
			r, err := sw.Sweep(context.Background(), farBudget())
			if err != nil {
				t.Fatal(err)
			}
			if want := (requestlog.SweepReport{Examined: len(late), Deleted: len(late), Finished: true}); r != want {
				t.Errorf("report %+v, want %+v", r, want)
			}
			if left := f.remaining(t); len(left) != 0 {
				t.Errorf("%d items behind the watermark left, first expired %s", len(left), time.Unix(left[0].ExpiresAt, 0).UTC())
			}
			if w := f.watermark(t); !w.Equal(mark) {
				t.Errorf("watermark %s, want it kept at %s", w, mark)
			}
		})
	}
}
