package authapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// wrongTOTPCodes returns n 6-digit codes none of which is valid at now
// (±1 step) for the secret.
func wrongTOTPCodes(t *testing.T, secret string, now time.Time, n int) []string {
	t.Helper()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		valid[testenv.TOTPFromBase32(t, secret, now.Add(d))] = true
	}
	var out []string
	for i := 0; len(out) < n; i++ {
		if c := fmt.Sprintf("%06d", (i*7919+13)%1000000); !valid[c] {
			out = append(out, c)
		}
	}
	return out
}

func (f *fixture) confirm(t testing.TB, bearer, id, code string) (int, map[string]any) {
	t.Helper()
	return f.mfaCall(t, http.MethodPost, "/v1/mfa/totp/"+id+"/confirm", mfaJSON(ConfirmTOTPRequest{Code: code}), bearer)
}

func (f *fixture) mfaFailures(t testing.TB, bearer string) int {
	t.Helper()
	fl, err := f.svc.mfaThrottle.FailuresAt(context.Background(), mfa.FailuresKey(identity.AccountPartition(pwAccountID(bearer))))
	if err != nil {
		t.Fatal(err)
	}
	return fl.Count
}

// TestConfirmTOTPIsBoundAndBraked: the confirmation of a pending TOTP
// enrolment (which, for the account's first factor, hands out the
// recovery codes) is no way around the step-up nor the second factor's
// brake. Another session of the account, even holding the right code,
// finds no such factor (and takes nothing from the brake); the enrolling
// session's wrong codes are counted on the account's second-factor
// failures, an enrolment dies after mfa.MaxPendingWrongCodes, and past
// the free failures even the right code waits (429); after the delay it
// confirms and clears the count.
func TestConfirmTOTPIsBoundAndBraked(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	owner := f.activeAccount(t, email)
	stolen := f.pwMustLogin(t, email, strong) // another session of the account
	id, secret := f.enrol(t, owner)
	right := func() string { return testenv.TOTPFromBase32(t, secret, f.clock.Now()) }
	// Another session: 404 even with the right code; nothing counted.
	for range 3 {
		if st, out := f.confirm(t, stolen, id, right()); st != http.StatusNotFound || out["code"] != "factor_not_found" {
			t.Fatalf("another session confirms: %d %v", st, out)
		}
	}
	if n := f.mfaFailures(t, owner); n != 0 {
		t.Fatalf("another session's attempts counted %d", n)
	}
	// The enrolling session: wrong codes are 403 wrong_code, counted; the
	// enrolment dies after MaxPendingWrongCodes.
	for i, c := range wrongTOTPCodes(t, secret, f.clock.Now(), mfa.MaxPendingWrongCodes) {
		if st, out := f.confirm(t, owner, id, c); st != http.StatusForbidden || out["code"] != "wrong_code" {
			t.Fatalf("wrong code %d: %d %v", i+1, st, out)
		}
	}
	if st, out := f.confirm(t, owner, id, right()); st != http.StatusNotFound || out["code"] != "factor_not_found" {
		t.Fatalf("the right code on a dead enrolment: %d %v", st, out)
	}
	// A second enrolment: wrong codes up to the free failures, then 429.
	free := f.svc.mfaThrottle.Policy().FreeFailures
	id, secret = f.enrol(t, owner)
	for i, c := range wrongTOTPCodes(t, secret, f.clock.Now(), free-mfa.MaxPendingWrongCodes) {
		if st, out := f.confirm(t, owner, id, c); st != http.StatusForbidden || out["code"] != "wrong_code" {
			t.Fatalf("wrong code %d of the second enrolment: %d %v", i+1, st, out)
		}
	}
	if n := f.mfaFailures(t, owner); n != free {
		t.Fatalf("failures counted %d, want %d", n, free)
	}
	st, out := f.confirm(t, owner, id, right())
	if st != http.StatusTooManyRequests || out["code"] != "second_factor_delayed" {
		t.Fatalf("the right code past the free failures: %d %v", st, out)
	}
	f.clock.Advance(f.svc.mfaThrottle.Policy().Delay(free) + time.Second)
	st, out = f.confirm(t, owner, id, right())
	if codes, _ := out["recovery_codes"].([]any); st != http.StatusOK || len(codes) != 10 {
		t.Fatalf("the right code after the delay: %d %v", st, out)
	}
	if n := f.mfaFailures(t, owner); n != 0 {
		t.Fatalf("failures after a confirmation: %d", n)
	}
}

// TestConfirmTOTPGuessesAreBrakedAtomically: a burst of wrong confirmation
// codes sent at once, each from its own loopback source address (so no
// per-client limit helps), checks at most the free failures' worth; every
// other one is refused before its code is looked at (or finds the
// enrolment dead), and the account's count is at most the free failures.
func TestConfirmTOTPGuessesAreBrakedAtomically(t *testing.T) {
	pol := throttle.Policy{FreeFailures: 5, BaseDelay: time.Minute, MaxDelay: time.Hour, LockAfter: 100,
		Memory: 24 * time.Hour, LockMemory: 24 * time.Hour}
	f := newFixtureWith(t, io.Discard, options{mfaThrottle: &pol})
	owner := f.activeAccount(t, testenv.Email(t))
	id, secret := f.enrol(t, owner)
	const n = 40
	codes := wrongTOTPCodes(t, secret, f.clock.Now(), n)
	answers := make([]answer, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/mfa/totp/"+id+"/confirm",
				strings.NewReader(mfaJSON(ConfirmTOTPRequest{Code: codes[i]})))
			if err != nil {
				t.Error(err)
				ready.Done()
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+owner)
			ready.Done()
			<-start
			resp, err := testenv.LoopbackClient(i).Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			code, _ := out["code"].(string)
			answers[i] = answer{status: resp.StatusCode, code: code}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	got := tally(answers)
	checked := got["403 wrong_code"]
	if checked < 1 || checked > pol.FreeFailures ||
		checked+got["429 second_factor_delayed"]+got["404 factor_not_found"] != n {
		t.Fatalf("answers %v: want at most %d × 403 wrong_code, the rest 429 second_factor_delayed or 404 factor_not_found", got, pol.FreeFailures)
	}
	if c := f.mfaFailures(t, owner); c < checked || c > pol.FreeFailures {
		t.Fatalf("failures counted %d, want between %d and %d", c, checked, pol.FreeFailures)
	}
	// The enrolment took at most MaxPendingWrongCodes; it is dead now.
	f.clock.Advance(pol.BaseDelay)
	if st, out := f.confirm(t, owner, id, testenv.TOTPFromBase32(t, secret, f.clock.Now())); st != http.StatusNotFound {
		t.Fatalf("the enrolment after the burst: %d %v", st, out)
	}
}

// TestConfirmTOTPIsLimitedPerClient: the confirmation counts against the
// client's POST /v1/login/mfa limit.
func TestConfirmTOTPIsLimitedPerClient(t *testing.T) {
	two := throttle.Limit{Max: 2, Window: time.Minute}
	generous := throttle.Limit{Max: 100000, Window: time.Minute}
	f := newFixtureWith(t, io.Discard, options{limits: &Limits{Login: two, Signup: generous, Verify: generous, Password: generous, Mail: generous}})
	owner := f.activeAccount(t, testenv.Email(t))
	for i := range two.Max {
		if st, out := f.confirm(t, owner, "mfa_aaaaaaaaaaaaaaaaaaaaaaaaaa", "123456"); st != http.StatusNotFound {
			t.Fatalf("request %d: %d %v", i+1, st, out)
		}
	}
	if st, out := f.confirm(t, owner, "mfa_aaaaaaaaaaaaaaaaaaaaaaaaaa", "123456"); st != http.StatusTooManyRequests || out["code"] != "rate_limited" {
		t.Fatalf("over the limit: %d %v", st, out)
	}
}

// TestStepUpPasskeyOptionsAreLimitedPerClient: each request writes a
// challenge item; it counts against the client's passkey limit.
func TestStepUpPasskeyOptionsAreLimitedPerClient(t *testing.T) {
	two := throttle.Limit{Max: 2, Window: time.Minute}
	generous := throttle.Limit{Max: 100000, Window: time.Minute}
	f := newFixtureWith(t, io.Discard, options{limits: &Limits{Login: two, Signup: generous, Verify: generous, Password: generous, Mail: generous}})
	owner := f.activeAccount(t, testenv.Email(t)) // no passkey: 400 method_unavailable, counted all the same
	for i := range two.Max {
		if st, out := f.mfaCall(t, http.MethodPost, "/v1/session/step-up/passkey/options", "{}", owner); st != http.StatusBadRequest {
			t.Fatalf("request %d: %d %v", i+1, st, out)
		}
	}
	if st, out := f.mfaCall(t, http.MethodPost, "/v1/session/step-up/passkey/options", "{}", owner); st != http.StatusTooManyRequests || out["code"] != "rate_limited" {
		t.Fatalf("over the limit: %d %v", st, out)
	}
}
