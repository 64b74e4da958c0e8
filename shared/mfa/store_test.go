package mfa

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/identity"
)

// storeFixture is a Store over a fresh stack's state table, an active
// account and a settable clock.
func storeFixture(t *testing.T) (*Store, string, *testenv.Clock) {
	t.Helper()
	st := testenv.NewStack(t)
	clk := testenv.NewClock(time.Now())
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	sealer, err := NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	acct := testenv.ActiveAccount(t, identity.NewStore(db, st.Tables["StateTable"], clk.Now), clk.Now())
	return NewStore(db, st.Tables["StateTable"], sealer, clk.Now), acct, clk
}

// race runs use n times at once and counts the successes and the refusals
// (ErrWrongCode); any other error fails the test.
func race(t *testing.T, n int, use func() error) (ok, refused int) {
	t.Helper()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := use()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrWrongCode):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok, refused
}

// TestCodesAreUsedOnceUnderConcurrency: the store's single-use writes,
// with no brake in front: one TOTP code, or one recovery code, checked and
// committed by many at once, is used exactly once.
func TestCodesAreUsedOnceUnderConcurrency(t *testing.T) {
	s, acct, clk := storeFixture(t)
	ctx := context.Background()
	e, err := s.EnrolTOTP(ctx, acct, "ses_test", "a@example.com", DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	use, err := s.CheckPendingTOTP(ctx, acct, "ses_test", e.Factor.ID, testenv.TOTP(e.Secret, clk.Now(), 6))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, []*Use{use}); err != nil {
		t.Fatal(err)
	}
	codes, err := s.GenerateRecoveryCodes(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(StepPeriod)
	const n = 16
	for _, c := range []struct {
		name  string
		check func() (*Use, error)
	}{
		{"totp", func() (*Use, error) { return s.CheckTOTP(ctx, acct, testenv.TOTP(e.Secret, clk.Now(), 6)) }},
		{"recovery code", func() (*Use, error) { return s.CheckRecoveryCode(acct, codes[0]) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, refused := race(t, n, func() error {
				u, err := c.check()
				if err != nil {
					return err
				}
				_, err = s.Commit(ctx, []*Use{u})
				return err
			})
			if ok != 1 || refused != n-1 {
				t.Fatalf("%d used, %d refused; want 1 and %d", ok, refused, n-1)
			}
		})
	}
	if left, err := s.RecoveryLeft(ctx, acct); err != nil || left != RecoveryCodes-1 {
		t.Fatalf("left %d (%v)", left, err)
	}
}
