package throttle_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// errInjected is the failure a faultyDB answers with.
var errInjected = errors.New("injected failure")

// faultyDB lets a test break the write that locks a record: with fail,
// the armed call fails without reaching the table; with loseAnswer, the
// write that leaves the record locked lands but its answer is lost (as
// when a response times out after DynamoDB applied the write).
type faultyDB struct {
	throttle.DynamoDB
	table      string
	lockAfter  int
	failNth    atomic.Int64 // fail the n-th UpdateItem from now (1-based; 0 off)
	loseAnswer atomic.Bool
}

func (f *faultyDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if n := f.failNth.Load(); n > 0 {
		f.failNth.Store(n - 1)
		if n == 1 {
			return nil, errInjected
		}
	}
	out, err := f.DynamoDB.UpdateItem(ctx, in, o...)
	if err == nil && f.loseAnswer.Load() {
		got, gerr := f.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: in.Key, ConsistentRead: aws.Bool(true)})
		if gerr != nil {
			return nil, gerr
		}
		if countOf(got.Item, "failures") >= f.lockAfter {
			f.loseAnswer.Store(false)
			return nil, errInjected
		}
	}
	return out, err
}

// TestTheLockSurvivesABrokenLockingWrite: however the locking attempt's
// write breaks (refused outright, or applied with its answer lost), the
// record ends either unlocked (the attempt may be made again) or locked
// for LockMemory: never locked for only Memory, which would give a
// guesser a fresh budget after it.
func TestTheLockSurvivesABrokenLockingWrite(t *testing.T) {
	p := throttle.Policy{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: time.Second, LockAfter: 3,
		Memory: time.Hour, LockMemory: 365 * 24 * time.Hour}
	for _, tc := range []struct {
		name string
		arm  func(*faultyDB)
	}{
		{"first write fails", func(f *faultyDB) { f.failNth.Store(1) }},
		{"second write fails", func(f *faultyDB) { f.failNth.Store(2) }},
		{"locking write's answer lost", func(f *faultyDB) { f.loseAnswer.Store(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := testenv.NewStack(t)
			clk := testenv.NewClock(time.Now())
			f := &faultyDB{DynamoDB: stack.DynamoDBClient(st.DynamoDBEndpoint), table: st.Tables["StateTable"], lockAfter: p.LockAfter}
			s := throttle.NewStore(f, st.Tables["StateTable"], p, clk.Now)
			ctx := context.Background()
			subject := ids.New("subj")
			for i := 1; i < p.LockAfter; i++ {
				if att, w, err := s.TakeAttempt(ctx, subject); err != nil || w != (throttle.Wait{}) || att.Failures.Count != i {
					t.Fatalf("attempt %d: %+v %+v %v", i, att, w, err)
				}
			}
			tc.arm(f)
			// Attempts until the record answers locked (the broken one
			// errs; a later one takes the lock if it was not written).
			locked := false
			for range 4 {
				att, w, err := s.TakeAttempt(ctx, subject)
				if err == nil && (w.Locked || att.Failures.Count == p.LockAfter) {
					locked = true
					break
				}
				clk.Advance(p.MaxDelay)
			}
			if !locked {
				t.Fatal("never locked")
			}
			clk.Advance(p.Memory + time.Second)
			if att, w, err := s.TakeAttempt(ctx, subject); err != nil || !w.Locked {
				t.Fatalf("after Memory: %+v %+v %v, want still locked (LockMemory)", att, w, err)
			}
		})
	}
}

// countOf reads a number attribute of an item (0 when absent).
func countOf(item map[string]types.AttributeValue, name string) int {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, _ := strconv.Atoi(n.Value)
	return v
}

// TestTheLockNoticeIsClaimedOncePerLock: only a locked record's notice can
// be claimed, by one caller; an attempt on the locked record shows it
// claimed; a new lock (after a reset) may be claimed again.
func TestTheLockNoticeIsClaimedOncePerLock(t *testing.T) {
	p := throttle.Policy{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: time.Second, LockAfter: 3,
		Memory: time.Hour, LockMemory: 2 * time.Hour}
	s, _, clk, _ := newStore(t, p)
	ctx := context.Background()
	subject := ids.New("subj")
	claim := func(want bool, when string) {
		t.Helper()
		if got, err := s.ClaimLoginLockNotice(ctx, subject); err != nil || got != want {
			t.Fatalf("%s: claimed %v (%v), want %v", when, got, err, want)
		}
	}
	lock := func() {
		t.Helper()
		for i := 1; i <= p.LockAfter; i++ {
			if att, w, err := s.TakeAttempt(ctx, subject); err != nil || w != (throttle.Wait{}) || att.Failures.Count != i {
				t.Fatalf("attempt %d: %+v %+v %v", i, att, w, err)
			}
			if i < p.LockAfter {
				claim(false, "not locked yet")
			}
		}
	}
	claim(false, "no record")
	lock()
	if att, w, err := s.TakeAttempt(ctx, subject); err != nil || !w.Locked || att.Failures.LockNotified {
		t.Fatalf("locked, unclaimed: %+v %+v %v", att, w, err)
	}
	claim(true, "first claim")
	claim(false, "second claim")
	if att, w, err := s.TakeAttempt(ctx, subject); err != nil || !w.Locked || !att.Failures.LockNotified {
		t.Fatalf("locked, claimed: %+v %+v %v", att, w, err)
	}
	if err := s.ClearFailures(ctx, subject); err != nil {
		t.Fatal(err)
	}
	lock()
	claim(true, "after a reset, the new lock")
	// An expired lock's record (TTL lags) is replaced without its claim.
	clk.Advance(p.LockMemory + time.Second)
	claim(false, "expired lock")
	lock()
	claim(true, "the lock after an expired one")
}
