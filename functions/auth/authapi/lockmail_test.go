package authapi

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// lostLockAnswer applies the write that locks an address's failure record
// and then loses its answer (as when the response times out after
// DynamoDB applied it): the request that locked dies before it can tell
// the owner.
type lostLockAnswer struct {
	throttle.DynamoDB
	table     string
	lockAfter int
	armed     atomic.Bool
}

func (l *lostLockAnswer) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := l.DynamoDB.UpdateItem(ctx, in, o...)
	if err != nil || !l.armed.Load() {
		return out, err
	}
	got, gerr := l.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.table), Key: in.Key, ConsistentRead: aws.Bool(true)})
	if gerr != nil {
		return nil, gerr
	}
	if n, ok := got.Item["failures"].(*types.AttributeValueMemberN); ok {
		if c, _ := strconv.Atoi(n.Value); c >= l.lockAfter {
			l.armed.Store(false)
			return nil, errors.New("injected: answer lost")
		}
	}
	return out, err
}

// TestOneLockEmailPerLock: failing until the lock and on sends the owner
// exactly one lock email, even when the request whose failure locked the
// address dies after its write (a later attempt that finds the lock
// unannounced sends it); an address without an account gets none, and
// both addresses get the same answers.
func TestOneLockEmailPerLock(t *testing.T) {
	small := throttle.Policy{FreeFailures: 2, BaseDelay: time.Second, MaxDelay: time.Second, LockAfter: 3,
		Memory: time.Hour, LockMemory: 365 * 24 * time.Hour}
	for _, lose := range []bool{false, true} {
		t.Run("locking answer lost: "+strconv.FormatBool(lose), func(t *testing.T) {
			f := newFixtureWith(t, io.Discard, options{throttle: &small})
			fault := &lostLockAnswer{DynamoDB: stack.DynamoDBClient(f.stack.DynamoDBEndpoint),
				table: f.stack.Tables["StateTable"], lockAfter: small.LockAfter}
			f.svc.throttle = throttle.NewStore(fault, f.stack.Tables["StateTable"], small, f.clock.Now)
			run := func(email string) (as []attempt, emails int) {
				f.mail.reset()
				fault.armed.Store(lose)
				for range 6 {
					as = append(as, f.login(t, email, "wrong-"+strong, ""))
					f.clock.Advance(2 * time.Second)
				}
				return as, f.mail.reset()
			}
			existing := testenv.Email(t)
			f.activeAccount(t, existing)
			a1, sent := run(existing)
			a2, sentUnknown := run(testenv.Email(t))
			t.Logf("answers %+v", a1)
			if sent != 1 || sentUnknown != 0 {
				t.Errorf("lock emails: %d to the owner, %d to an unknown address; want 1 and 0", sent, sentUnknown)
			}
			for i := range a1 {
				if a1[i] != a2[i] {
					t.Errorf("attempt %d: with an account %+v, without %+v", i+1, a1[i], a2[i])
				}
			}
			if last := a1[len(a1)-1]; last.code != "login_locked" {
				t.Errorf("last attempt: %+v, want login_locked", last)
			}
		})
	}
}

// TestOneSecondFactorLockEmailPerLock: wrong codes until the second factor
// locks and on send the owner exactly one email, even when the request
// whose wrong code locked it dies after its write.
func TestOneSecondFactorLockEmailPerLock(t *testing.T) {
	pol := throttle.Policy{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: time.Second, LockAfter: 3,
		Memory: time.Hour, LockMemory: time.Hour}
	for _, lose := range []bool{false, true} {
		t.Run("locking answer lost: "+strconv.FormatBool(lose), func(t *testing.T) {
			f := newFixtureWith(t, io.Discard, options{mfaThrottle: &pol})
			fault := &lostLockAnswer{DynamoDB: stack.DynamoDBClient(f.stack.DynamoDBEndpoint),
				table: f.stack.Tables["StateTable"], lockAfter: pol.LockAfter}
			f.svc.mfaThrottle = throttle.NewStore(fault, f.stack.Tables["StateTable"], pol, f.clock.Now)
			u := f.newMFAUser(t)
			f.mail.reset()
			fault.armed.Store(lose)
			var codes []string
			for range 5 {
				wrong := "000000"
				if wrong == f.code(t, u) {
					wrong = "000001"
				}
				_, out := f.finish(t, f.challenge(t, u), "totp", wrong)
				code, _ := out["code"].(string)
				codes = append(codes, code)
			}
			if sent := f.mail.reset(); sent != 1 {
				t.Errorf("answers %v: %d lock emails, want 1", codes, sent)
			}
			if last := codes[len(codes)-1]; last != "second_factor_locked" {
				t.Errorf("answers %v: want the last one locked", codes)
			}
		})
	}
}
