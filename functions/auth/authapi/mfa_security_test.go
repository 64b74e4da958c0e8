package authapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// TestLoginWithRecoveryCodes: a recovery code finishes a login once; the
// answer says how many are left, and when few are, the owner is emailed.
func TestLoginWithRecoveryCodes(t *testing.T) {
	f := newFixture(t, io.Discard)
	u := f.newMFAUser(t)
	for i, c := range u.codes[:8] {
		typed := c
		if i%2 == 1 {
			typed = strings.ToUpper(strings.ReplaceAll(c, "-", "")) // as some people type them
		}
		status, out := f.finish(t, f.challenge(t, u), "recovery_code", typed)
		left := 10 - 1 - i
		if status != http.StatusOK || out["recovery_codes_left"] != float64(left) || sessionToken(out) == "" {
			t.Fatalf("code %d: %d %v, want 200 with %d left", i, status, out, left)
		}
	}
	// Each login with a code emailed the owner; the last said 2 were left.
	if m := testenv.WaitForMails(t, u.email, 8)[0]; !strings.Contains(m.Subject, "recovery code was used") || !strings.Contains(m.Text, "2 are left") {
		t.Fatalf("newest email %q: %s", m.Subject, m.Text)
	}
	for _, c := range u.codes[:2] {
		if status, out := f.finish(t, f.challenge(t, u), "recovery_code", c); status != http.StatusUnauthorized || out["code"] != "invalid_second_factor" {
			t.Fatalf("a used code again: %d %v", status, out)
		}
	}
	status, out := f.mfaCall(t, http.MethodGet, "/v1/mfa", "", u.bearer)
	if rc, _ := out["recovery_codes"].(map[string]any); status != http.StatusOK || rc["left"] != float64(2) {
		t.Fatalf("GET /v1/mfa: %d %v", status, out)
	}
}

// TestRecoveryCodeIsUsedOnceUnderConcurrency: the same recovery code sent
// at once on many challenges (each a password login) from many source
// addresses makes exactly one session.
func TestRecoveryCodeIsUsedOnceUnderConcurrency(t *testing.T) {
	f := newFixture(t, io.Discard)
	u := f.newMFAUser(t)
	const n = 24
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = f.challenge(t, u)
	}
	answers := f.mfaBurst(t, n, func(i int) string {
		return mfaJSON(LoginMFARequest{MFAToken: tokens[i], Method: "recovery_code", Code: u.codes[0]})
	})
	if answers["200 "] != 1 {
		t.Fatalf("answers %v: want exactly one 200", answers)
	}
	if left, err := f.svc.mfa.RecoveryLeft(context.Background(), pwAccountID(u.bearer)); err != nil || left != 9 {
		t.Fatalf("left %d (%v), want 9", left, err)
	}
}

// mfaBurst posts n bodies to POST /v1/login/mfa at once, each from its
// own loopback source address, and tallies the answers ("status code").
func (f *fixture) mfaBurst(t *testing.T, n int, body func(i int) string) map[string]int {
	t.Helper()
	return tally(f.burst(t, n, func(i int) (string, string) { return "/v1/login/mfa", body(i) }))
}

// TestSecondFactorGuessesAreBrakedAtomically: a burst of wrong codes sent
// at once (each on its own challenge, from its own source address) is
// answered exactly as the same codes one after another: the free
// failures are checked, every other one is refused before its code is
// looked at, and while delayed even the right code waits. A password
// login does not clear the count (it would buy fresh guesses).
func TestSecondFactorGuessesAreBrakedAtomically(t *testing.T) {
	pol := throttle.Policy{FreeFailures: 5, BaseDelay: time.Minute, MaxDelay: time.Hour, LockAfter: 100,
		Memory: 24 * time.Hour, LockMemory: 24 * time.Hour}
	f := newFixtureWith(t, io.Discard, options{mfaThrottle: &pol})
	u := f.newMFAUser(t)
	const n = 40
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = f.challenge(t, u)
	}
	right := f.code(t, u)
	answers := f.mfaBurst(t, n, func(i int) string {
		wrong := fmt.Sprintf("%06d", (i*7919+1)%1000000)
		if wrong == right {
			wrong = "000000"
		}
		return mfaJSON(LoginMFARequest{MFAToken: tokens[i], Method: "totp", Code: wrong})
	})
	if answers["401 invalid_second_factor"] != pol.FreeFailures || answers["429 second_factor_delayed"] != n-pol.FreeFailures {
		t.Fatalf("answers %v: want %d × 401 invalid_second_factor and %d × 429 second_factor_delayed", answers, pol.FreeFailures, n-pol.FreeFailures)
	}
	fails, err := f.svc.mfaThrottle.FailuresAt(context.Background(), mfa.FailuresKey(identity.AccountPartition(pwAccountID(u.bearer))))
	if err != nil || fails.Count != pol.FreeFailures {
		t.Fatalf("failures counted %d (%v), want %d", fails.Count, err, pol.FreeFailures)
	}
	// The right code waits too, on a fresh challenge: the password's
	// success does not clear the second factor's count.
	if status, out := f.finish(t, f.challenge(t, u), "totp", right); status != http.StatusTooManyRequests || out["code"] != "second_factor_delayed" {
		t.Fatalf("the right code while delayed: %d %v", status, out)
	}
	f.clock.Advance(pol.BaseDelay)
	if status, out := f.finish(t, f.challenge(t, u), "totp", f.code(t, u)); status != http.StatusOK {
		t.Fatalf("the right code after the delay: %d %v", status, out)
	}
}

// TestExpiredAndOutdatedChallenges: a challenge lives five minutes; a
// code outside one step of now is refused; and a password reset kills the
// challenges of the old password without removing or skipping the second
// factor (ASVS 6.4.3).
func TestExpiredAndOutdatedChallenges(t *testing.T) {
	f := newFixture(t, io.Discard)
	u := f.newMFAUser(t)

	old := f.challenge(t, u)
	f.clock.Advance(mfa.ChallengeTTL + time.Second)
	if status, out := f.finish(t, old, "totp", f.code(t, u)); status != http.StatusUnauthorized || out["code"] != "invalid_mfa_token" {
		t.Fatalf("an expired challenge: %d %v", status, out)
	}
	for _, skew := range []time.Duration{-2 * mfa.StepPeriod, 2 * mfa.StepPeriod} {
		f.nextStep()
		code := testenv.TOTPFromBase32(t, u.secret, f.clock.Now().Add(skew))
		if status, out := f.finish(t, f.challenge(t, u), "totp", code); status != http.StatusUnauthorized || out["code"] != "invalid_second_factor" {
			t.Fatalf("a code %v away: %d %v", skew, status, out)
		}
	}

	// A reset by email: the challenge of the old password dies, and the
	// new password still leads to a challenge, never to a session.
	before := f.challenge(t, u)
	if s := f.post(t, "/v1/password/forgot", `{"email":"`+u.email+`"}`); s != http.StatusAccepted {
		t.Fatalf("forgot: %d", s)
	}
	link := testenv.LinkToken(t, testenv.WaitForMails(t, u.email, 2)[0])
	if rec := f.pwSend(t, http.MethodPost, "/v1/password/reset", pwResetBody(link, pwStrong2), ""); rec.Code != http.StatusNoContent {
		t.Fatalf("reset: %d %s", rec.Code, rec.Body)
	}
	f.nextStep()
	if status, out := f.finish(t, before, "totp", f.code(t, u)); status != http.StatusUnauthorized || out["code"] != "invalid_mfa_token" {
		t.Fatalf("the old password's challenge after a reset: %d %v", status, out)
	}
	status, _, out := f.call(t, http.MethodPost, "/v1/login", creds(u.email, pwStrong2), "", "")
	if status != http.StatusOK || out["mfa_required"] != true || out["session"] != nil {
		t.Fatalf("login after the reset: %d %v, want a challenge", status, out)
	}
	tok, _ := out["mfa_token"].(string)
	if status, out := f.finish(t, tok, "totp", f.code(t, u)); status != http.StatusOK {
		t.Fatalf("finish after the reset: %d %v", status, out)
	}
}

// TestWrongPasswordLooksTheSameWithOrWithoutSecondFactor: before the
// password is proven, an account with a second factor, one without and an
// unknown address answer alike (status, body, headers) after the same
// hashing work.
func TestWrongPasswordLooksTheSameWithOrWithoutSecondFactor(t *testing.T) {
	f := newFixture(t, io.Discard)
	u := f.newMFAUser(t)
	plain := testenv.Email(t)
	f.activeAccount(t, plain)
	f.hasher.reset()
	var answers []answer
	var work []string
	for i, email := range []string{u.email, plain, testenv.Email(t)} {
		answers = append(answers, f.send(t, 10+i, "/v1/login", creds(email, "wrong-"+strong)))
		h, v := f.hasher.reset()
		work = append(work, fmt.Sprint(h, v))
	}
	for i := range answers[1:] {
		if answers[i+1] != answers[0] || work[i+1] != work[0] {
			t.Errorf("answer %d %+v (work %s) differs from the MFA account's %+v (work %s)", i+1, answers[i+1], work[i+1], answers[0], work[0])
		}
	}
	if answers[0].status != http.StatusUnauthorized || answers[0].code != "invalid_credentials" {
		t.Errorf("answer %+v", answers[0])
	}
}

// TestNoSecondFactorSecretInLogs captures every log line of the second
// factor's flows (enrolment, confirmation, logins with a code and with a
// recovery code, wrong codes, step-ups, new codes) and fails if a TOTP
// secret, a code, a recovery code, an mfa_token or the address appears.
func TestNoSecondFactorSecretInLogs(t *testing.T) {
	logs := &testenv.LogBuffer{}
	f := newFixture(t, logs)
	u := f.newMFAUser(t)
	secrets := append([]string{u.secret, u.email}, u.codes...)
	f.nextStep()
	tok := f.challenge(t, u)
	code := f.code(t, u)
	secrets = append(secrets, tok, code, strings.ReplaceAll(u.codes[1], "-", ""))
	if status, out := f.finish(t, tok, "totp", "000001"); status != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d %v", status, out)
	}
	status, out := f.finish(t, tok, "totp", code)
	if status != http.StatusOK {
		t.Fatalf("finish: %d %v", status, out)
	}
	bearer := sessionToken(out)
	secrets = append(secrets, bearer)
	if status, out := f.finish(t, f.challenge(t, u), "recovery_code", u.codes[1]); status != http.StatusOK {
		t.Fatalf("recovery: %d %v", status, out)
	}
	f.nextStep()
	step := f.code(t, u)
	secrets = append(secrets, step)
	if status, out := f.mfaCall(t, http.MethodPost, "/v1/session/step-up", stepUpBody("totp", step), bearer); status != http.StatusOK {
		t.Fatalf("step-up: %d %v", status, out)
	}
	status, out = f.mfaCall(t, http.MethodPost, "/v1/mfa/recovery-codes", "", bearer)
	if status != http.StatusCreated {
		t.Fatalf("regenerate: %d %v", status, out)
	}
	secrets = append(secrets, toStrings(out["recovery_codes"])...)
	status, out = f.mfaCall(t, http.MethodPost, "/v1/mfa/totp", `{}`, bearer)
	if status != http.StatusCreated {
		t.Fatalf("enrol: %d %v", status, out)
	}
	secrets = append(secrets, out["secret"].(string), out["otpauth_uri"].(string))
	text := logs.String()
	if !strings.Contains(text, `"event":"login_mfa"`) || !strings.Contains(text, `"event":"step_up"`) {
		t.Fatalf("the flows logged no security events: %s", text)
	}
	for _, s := range secrets {
		if mfa.ValidCode(s) {
			// A six-digit code could occur by chance inside a timestamp:
			// look for it as a value (quoted, or after "=" or ":").
			for _, form := range []string{`"` + s + `"`, "=" + s, ":" + s} {
				if strings.Contains(text, form) {
					t.Errorf("a log line holds the code %q", s)
				}
			}
			continue
		}
		if s != "" && strings.Contains(text, s) {
			t.Errorf("a log line holds %q", s)
		}
	}
}
