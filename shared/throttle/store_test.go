package throttle_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// countingDB counts the calls made through it.
type countingDB struct {
	throttle.DynamoDB
	mu    sync.Mutex
	calls int
}

func (c *countingDB) count() {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count()
	return c.DynamoDB.GetItem(ctx, in, o...)
}

func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count()
	return c.DynamoDB.UpdateItem(ctx, in, o...)
}

func (c *countingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.count()
	return c.DynamoDB.DeleteItem(ctx, in, o...)
}

func (c *countingDB) reset() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.calls
	c.calls = 0
	return n
}

func newStore(t *testing.T, p throttle.Policy) (*throttle.Store, *countingDB, *testenv.Clock, *stack.Stack) {
	t.Helper()
	st := testenv.NewStack(t)
	clk := testenv.NewClock(time.Now())
	db := &countingDB{DynamoDB: stack.DynamoDBClient(st.DynamoDBEndpoint)}
	return throttle.NewStore(db, st.Tables["StateTable"], p, clk.Now), db, clk, st
}

// TestTakeAttemptIsOneWrite: an attempt the record allows, and one it
// refuses, each cost one DynamoDB call, and answer as the policy says.
func TestTakeAttemptIsOneWrite(t *testing.T) {
	p := throttle.Policy{FreeFailures: 2, BaseDelay: time.Second, MaxDelay: 4 * time.Second, LockAfter: 6,
		Memory: time.Hour, LockMemory: 48 * time.Hour}
	s, db, clk, _ := newStore(t, p)
	ctx := context.Background()
	subject := ids.New("subj")
	for i := 1; i <= p.LockAfter; i++ {
		att, w, err := s.TakeAttempt(ctx, subject)
		if err != nil || w != (throttle.Wait{}) || att.Failures.Count != i || att.Previous.Count != i-1 {
			t.Fatalf("attempt %d: %+v %+v %v", i, att, w, err)
		}
		if i == p.LockAfter {
			db.reset() // the locking attempt: the refused count, then the lock (lockAttempt)
		} else if n := db.reset(); n != 1 {
			t.Fatalf("attempt %d made %d calls, want 1", i, n)
		}
		// Refused before its delay is over, with the right wait.
		if d := p.Delay(i); d > 0 && i < p.LockAfter {
			clk.Advance(d - 300*time.Millisecond)
			if _, w, err := s.TakeAttempt(ctx, subject); err != nil || w.RetryAfter <= 0 || w.RetryAfter > 300*time.Millisecond {
				t.Fatalf("after %d failures, %s early: %+v %v", i, 300*time.Millisecond, w, err)
			}
			if n := db.reset(); n != 1 {
				t.Fatalf("refused attempt made %d calls, want 1", n)
			}
			clk.Advance(300 * time.Millisecond)
		}
	}
	if _, w, err := s.TakeAttempt(ctx, subject); err != nil || !w.Locked {
		t.Fatalf("after the lock: %+v %v", w, err)
	}
	// The lock outlives Memory: it is kept LockMemory.
	clk.Advance(2 * time.Hour)
	if _, w, err := s.TakeAttempt(ctx, subject); err != nil || !w.Locked {
		t.Fatalf("two hours after the lock: %+v %v, want still locked", w, err)
	}
}

// TestTakeAttemptReplacesAnExpiredRecord: a record past its expiry that
// TTL has not deleted yet counts as none (the attempt is the first
// failure), however long its delay or lock.
func TestTakeAttemptReplacesAnExpiredRecord(t *testing.T) {
	p := throttle.Policy{FreeFailures: 1, BaseDelay: time.Minute, MaxDelay: time.Hour, LockAfter: 3,
		Memory: time.Hour, LockMemory: 2 * time.Hour}
	s, _, clk, st := newStore(t, p)
	ctx := context.Background()
	subject := ids.New("subj")
	for range p.LockAfter {
		if _, w, err := s.TakeAttempt(ctx, subject); err != nil {
			t.Fatal(err)
		} else if w != (throttle.Wait{}) {
			clk.Advance(w.RetryAfter)
			if _, _, err := s.TakeAttempt(ctx, subject); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, w, _ := s.TakeAttempt(ctx, subject); !w.Locked {
		t.Fatalf("not locked: %+v", w)
	}
	clk.Advance(2*time.Hour + time.Second)
	got, err := stack.DynamoDBClient(st.DynamoDBEndpoint).GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.Tables["StateTable"]), Key: throttle.FailureKey("login", subject).AV()})
	if err != nil || got.Item == nil {
		t.Fatalf("the expired record should still be stored (no TTL locally): %v", err)
	}
	if !statetable.Expired(got.Item, clk.Now()) {
		t.Fatal("the record should have expired")
	}
	att, w, err := s.TakeAttempt(ctx, subject)
	if err != nil || w != (throttle.Wait{}) || att.Failures.Count != 1 || att.Previous.Count != 0 {
		t.Fatalf("after expiry: %+v %+v %v, want the first failure", att, w, err)
	}
}

// TestConcurrentAttemptsAreSequential: a burst of attempts takes exactly
// the slots the same attempts one after another would.
func TestConcurrentAttemptsAreSequential(t *testing.T) {
	p := throttle.Policy{FreeFailures: 5, BaseDelay: time.Minute, MaxDelay: time.Hour, LockAfter: 10,
		Memory: time.Hour, LockMemory: 2 * time.Hour}
	s, _, _, _ := newStore(t, p)
	ctx := context.Background()
	subject := ids.New("subj")
	var mu sync.Mutex
	var taken, delayed int
	seen := map[int]bool{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			att, w, err := s.TakeAttempt(ctx, subject)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case w.RetryAfter > 0:
				delayed++
			default:
				taken++
				seen[att.Failures.Count] = true
			}
		})
	}
	wg.Wait()
	// The five free failures are let through, each with its own count;
	// every later attempt waits for the delay the fifth one began.
	if taken != p.FreeFailures || delayed != 40-taken || len(seen) != taken {
		t.Fatalf("taken %d (counts %v), delayed %d; want %d taken with distinct counts", taken, seen, delayed, p.FreeFailures)
	}
}

// TestAllowIsOneWrite: each request a sliding window counts costs one
// DynamoDB call, refused ones count too, the previous window weighs by
// its overlap, and a client back after a long pause starts afresh with
// its old counts gone.
func TestAllowIsOneWrite(t *testing.T) {
	s, db, clk, st := newStore(t, throttle.DefaultPolicy())
	ctx := context.Background()
	l := throttle.Limit{Max: 3, Window: time.Minute}
	// At the start of a window, so the weights are exact.
	clk.Set(time.UnixMilli((clk.Now().UnixMilli()/60000 + 1) * 60000))
	client := ids.New("client")
	for i := 1; i <= 5; i++ {
		retry, err := s.Allow(ctx, "test", client, l)
		if err != nil {
			t.Fatal(err)
		}
		if (retry == 0) != (i <= 3) {
			t.Fatalf("request %d: retry %s", i, retry)
		}
		if n := db.reset(); n != 1 {
			t.Fatalf("request %d made %d calls, want 1", i, n)
		}
	}
	// Half way through the next window, the previous one's 5 (refused ones
	// included) weigh 2.5: even one more request (1 + 2.5 > 3) is refused.
	clk.Advance(90 * time.Second)
	if retry, err := s.Allow(ctx, "test", client, l); err != nil || retry == 0 {
		t.Fatalf("half way into the next window: %s %v, want refused", retry, err)
	}
	// Two windows later the old counts weigh nothing.
	clk.Advance(2 * time.Minute)
	if retry, err := s.Allow(ctx, "test", client, l); err != nil || retry != 0 {
		t.Fatalf("two windows later: %s %v, want allowed", retry, err)
	}
	// Long after, the item holds only the windows a sliding window reads.
	clk.Advance(10 * time.Minute)
	if retry, err := s.Allow(ctx, "test", client, l); err != nil || retry != 0 {
		t.Fatalf("ten minutes later: %s %v", retry, err)
	}
	got, err := stack.DynamoDBClient(st.DynamoDBEndpoint).GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.Tables["StateTable"]), Key: throttle.RateKey("test", client).AV()})
	if err != nil {
		t.Fatal(err)
	}
	windows := 0
	for name := range got.Item {
		if name[0] == 'w' {
			windows++
		}
	}
	if windows != 1 {
		t.Fatalf("counter holds %d windows (%v), want only the current one", windows, got.Item)
	}
	if n, err := s.ForgetClient(ctx, "test", client); err != nil || n != 1 {
		t.Fatalf("ForgetClient: %d %v", n, err)
	}
}

// TestTakeIsOneWrite: a capped sender's slots are one write each, in the
// same one item per subject; a refused take counts nothing, and the next
// window has its slots again.
func TestTakeIsOneWrite(t *testing.T) {
	s, db, clk, _ := newStore(t, throttle.DefaultPolicy())
	ctx := context.Background()
	l := throttle.Limit{Max: 2, Window: time.Hour}
	clk.Set(time.UnixMilli((clk.Now().UnixMilli()/3600000 + 1) * 3600000))
	subject := ids.New("subj")
	for i, want := range []bool{true, true, false, false} {
		if got, err := s.Take(ctx, throttle.MailReset, subject, l); err != nil || got != want {
			t.Fatalf("take %d: %v %v, want %v", i+1, got, err, want)
		}
		if n := db.reset(); n != 1 {
			t.Fatalf("take %d made %d calls, want 1", i+1, n)
		}
	}
	clk.Advance(time.Hour)
	if got, err := s.Take(ctx, throttle.MailReset, subject, l); err != nil || !got {
		t.Fatalf("next window: %v %v", got, err)
	}
	if n, err := s.ForgetClient(ctx, throttle.MailReset, subject); err != nil || n != 1 {
		t.Fatalf("ForgetClient: %d %v", n, err)
	}
}

// TestBurstsAtADelaysEndAndOnAnExpiredLock: a burst at the end of the
// delay before the locking attempt lets exactly that one attempt through
// (it locks), and a burst on a lock that expired but is still stored (TTL
// lags) takes exactly the free failures.
func TestBurstsAtADelaysEndAndOnAnExpiredLock(t *testing.T) {
	p := throttle.Policy{FreeFailures: 5, BaseDelay: time.Minute, MaxDelay: time.Hour, LockAfter: 12,
		Memory: 3 * time.Hour, LockMemory: 6 * time.Hour}
	s, _, clk, _ := newStore(t, p)
	ctx := context.Background()
	subject := ids.New("subj")
	burst := func() (taken int, counts map[int]bool) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		counts = map[int]bool{}
		for range 60 {
			wg.Go(func() {
				att, w, err := s.TakeAttempt(ctx, subject)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Error(err)
				} else if w == (throttle.Wait{}) {
					taken++
					counts[att.Failures.Count] = true
				}
			})
		}
		wg.Wait()
		return taken, counts
	}
	for n := 0; n < p.LockAfter-1; { // each failure after its delay
		_, w, err := s.TakeAttempt(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		if w.RetryAfter > 0 {
			clk.Advance(w.RetryAfter)
			continue
		}
		n++
	}
	clk.Advance(p.Delay(p.LockAfter - 1))
	if n, c := burst(); n != 1 || !c[p.LockAfter] {
		t.Errorf("at the delay's end: %d taken %v, want the one that locks", n, c)
	}
	if _, w, err := s.TakeAttempt(ctx, subject); err != nil || !w.Locked {
		t.Fatalf("after the burst: %+v %v, want locked", w, err)
	}
	clk.Advance(p.LockMemory + time.Second)
	if n, c := burst(); n != p.FreeFailures || len(c) != n {
		t.Errorf("on the expired lock: %d taken %v, want %d with distinct counts", n, c, p.FreeFailures)
	}
}
