package authapi

import (
	"context"
	"crypto/sha1" // #nosec G505 -- the fake Pwned Passwords server is keyed by SHA-1, like the real one
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/breached"
	"github.com/atrium-cdn/atrium/shared/password"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// Passwords that pass the policy, other than strong (checked by
// TestPasswordConstantsPassThePolicy so that no test below fails for the
// wrong reason).
const (
	pwStrong2 = "violet-harbor-quantum-88-lantern-2"
	pwStrong3 = "copper-meadow-falcon-61-trellis-9"
	pwStrong4 = "saffron-glacier-orbit-47-pylon-3"
)

// Mail subjects the password flows send.
const (
	pwSubjectVerify  = "Confirm your email address for Atrium"
	pwSubjectReset   = "Reset your Atrium password"
	pwSubjectChanged = "Your Atrium password was changed"
	pwSubjectLocked  = "Your Atrium account is locked"
)

func TestPasswordConstantsPassThePolicy(t *testing.T) {
	for _, p := range []string{strong, pwStrong2, pwStrong3, pwStrong4} {
		if err := password.DefaultPolicy().Check(p, "someone@example.com"); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
}

// pwSend sends a request straight to the fixture's handler, as call does,
// and returns the whole recorded response.
func (f *fixture) pwSend(t testing.TB, method, path, body, bearer string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.RemoteAddr = "192.0.2.1:40000"
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

// pwProblemFields returns field → code of a validation problem's errors.
func pwProblemFields(out map[string]any) map[string]string {
	fields := map[string]string{}
	list, _ := out["errors"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		field, _ := m["field"].(string)
		code, _ := m["code"].(string)
		fields[field] = code
	}
	return fields
}

// pwWantProblem fails unless the response is the problem status/code and,
// when fields is not nil, names exactly those fields with those codes.
func pwWantProblem(t testing.TB, what string, status int, out map[string]any, wantStatus int, wantCode string, fields map[string]string) {
	t.Helper()
	code, _ := out["code"].(string)
	if status != wantStatus || code != wantCode {
		t.Fatalf("%s: %d %q (%v), want %d %q", what, status, code, out, wantStatus, wantCode)
	}
	if fields != nil {
		if got := pwProblemFields(out); !pwMapsEqual(got, fields) {
			t.Fatalf("%s: fields %v, want %v", what, got, fields)
		}
	}
}

func pwMapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// login logs in and returns the status, the problem code (on failure) and
// the session token (on success).
func (f *fixture) pwLogin(t testing.TB, email, pass string) (status int, code, token string) {
	t.Helper()
	status, _, out := f.call(t, http.MethodPost, "/v1/login", creds(email, pass), "", "")
	code, _ = out["code"].(string)
	if sess, ok := out["session"].(map[string]any); ok {
		token, _ = sess["token"].(string)
	}
	return status, code, token
}

// pwMustLogin logs in with a password that must work and returns the token.
func (f *fixture) pwMustLogin(t testing.TB, email, pass string) string {
	t.Helper()
	status, code, token := f.pwLogin(t, email, pass)
	if status != http.StatusOK || token == "" {
		t.Fatalf("login: %d %q, want 200 with a token", status, code)
	}
	return token
}

// pwWantLogin fails unless a login with the password answers status (and code).
func (f *fixture) pwWantLogin(t testing.TB, what, email, pass string, wantStatus int, wantCode string) {
	t.Helper()
	status, code, _ := f.pwLogin(t, email, pass)
	if status != wantStatus || code != wantCode {
		t.Fatalf("%s: login answers %d %q, want %d %q", what, status, code, wantStatus, wantCode)
	}
}

// pwSessionWorks reports whether the token still authenticates (GET /v1/sessions
// answers 200); a dead one must answer 401 unauthenticated.
func (f *fixture) pwSessionWorks(t testing.TB, token string) bool {
	t.Helper()
	status, _, out := f.call(t, http.MethodGet, "/v1/sessions", "", "", token)
	switch status {
	case http.StatusOK:
		return true
	case http.StatusUnauthorized:
		if out["code"] != "unauthenticated" {
			t.Fatalf("dead session: 401 with code %v, want unauthenticated", out["code"])
		}
		return false
	}
	t.Fatalf("GET /v1/sessions: %d %v", status, out)
	return false
}

// pwWantSessions fails unless each token is alive or dead as wanted. A dead one
// is also refused by POST /v1/logout (the other authenticated route).
func (f *fixture) pwWantSessions(t testing.TB, what string, alive map[string]bool) {
	t.Helper()
	for tok, want := range alive {
		if got := f.pwSessionWorks(t, tok); got != want {
			t.Fatalf("%s: session %s alive = %v, want %v", what, pwSessionID(tok), got, want)
		}
		if !want {
			status, _, out := f.call(t, http.MethodPost, "/v1/logout", "", "", tok)
			pwWantProblem(t, what+": logout with a revoked session", status, out, http.StatusUnauthorized, "unauthenticated", nil)
		}
	}
}

// pwAccountID, pwSessionID and pwSecret split a session token
// "<account id>.<session id>.<secret>".
func pwAccountID(token string) string { return pwTokenPart(token, 0) }
func pwSessionID(token string) string { return pwTokenPart(token, 1) }
func pwSecret(token string) string    { return pwTokenPart(token, 2) }

func pwTokenPart(token string, i int) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	return parts[i]
}

// pwMailsWith returns the address's messages with the subject, newest first.
func pwMailsWith(t testing.TB, email, subject string) []testenv.Mail {
	t.Helper()
	var out []testenv.Mail
	for _, m := range testenv.Mails(t, email) {
		if m.Subject == subject {
			out = append(out, m)
		}
	}
	return out
}

// pwWaitForMail waits for the address's total to reach n and returns the
// newest message, which must have the subject.
func pwWaitForMail(t testing.TB, email string, n int, subject string) testenv.Mail {
	t.Helper()
	got := testenv.WaitForMails(t, email, n)
	if len(got) != n {
		t.Fatalf("%s has %d emails, want %d", email, len(got), n)
	}
	if got[0].Subject != subject {
		t.Fatalf("newest email to %s is %q, want %q", email, got[0].Subject, subject)
	}
	return got[0]
}

// pwNoNewMail fails if the address's total moves from n within a short while
// (the service sends synchronously, so a mail would already be there; the
// wait only covers Mailpit's indexing).
func pwNoNewMail(t testing.TB, email string, n int) {
	t.Helper()
	deadline := time.Now().Add(300 * time.Millisecond)
	for {
		if got := testenv.Mails(t, email); len(got) != n {
			subjects := make([]string, 0, len(got))
			for _, m := range got {
				subjects = append(subjects, m.Subject)
			}
			t.Fatalf("%s has %d emails %q, want %d", email, len(got), subjects, n)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pwMailHasNoSecret fails if a message holds any of the secrets.
func pwMailHasNoSecret(t testing.TB, m testenv.Mail, secrets ...string) {
	t.Helper()
	text := strings.ReplaceAll(m.Text, "=\r\n", "")
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Fatalf("email %q contains a secret: %q", m.Subject, s)
		}
	}
}

// pwWantChangedMail checks the "password was changed" email's content.
func pwWantChangedMail(t testing.TB, m testenv.Mail, secrets ...string) {
	t.Helper()
	for _, s := range []string{"password of your Atrium account was just changed", "other\nsessions were signed out",
		stack.LocalAppURL + "/forgot-password", stack.LocalAppURL + "/settings/sessions"} {
		if !strings.Contains(strings.ReplaceAll(m.Text, "\r\n", "\n"), s) {
			t.Fatalf("%q email lacks %q:\n%s", m.Subject, s, m.Text)
		}
	}
	if strings.Contains(m.Text, "token=") {
		t.Fatalf("%q email carries a token link:\n%s", m.Subject, m.Text)
	}
	pwMailHasNoSecret(t, m, secrets...)
}

// forgot asks for a reset of the address, which must answer 202, and
// returns the token of the reset email that must arrive as the address's
// n-th message.
func (f *fixture) pwForgot(t testing.TB, email string, n int) string {
	t.Helper()
	status, _, out := f.call(t, http.MethodPost, "/v1/password/forgot", `{"email":"`+email+`"}`, "", "")
	if status != http.StatusAccepted {
		t.Fatalf("forgot: %d %v", status, out)
	}
	return testenv.LinkToken(t, pwWaitForMail(t, email, n, pwSubjectReset))
}

func pwResetBody(token, pass string) string {
	b, _ := json.Marshal(ResetRequest{Token: token, NewPassword: pass})
	return string(b)
}

func pwChangeBody(current, next string) string {
	b, _ := json.Marshal(ChangeRequest{CurrentPassword: current, NewPassword: next})
	return string(b)
}

func TestForgotPassword(t *testing.T) {
	f := newFixture(t, io.Discard)
	active := testenv.Email(t)
	f.activeAccount(t, active) // one email: the verification
	pending := testenv.Email(t)
	if s := f.post(t, "/v1/signup", signupBody(pending)); s != http.StatusAccepted {
		t.Fatalf("signup: %d", s)
	}
	testenv.WaitForMails(t, pending, 1)
	f.mail.reset()

	forgot := func(email string) *httptest.ResponseRecorder {
		return f.pwSend(t, http.MethodPost, "/v1/password/forgot", `{"email":"`+email+`"}`, "")
	}

	first := forgot(active)
	if first.Code != http.StatusAccepted {
		t.Fatalf("forgot for an active account: %d %s", first.Code, first.Body)
	}
	if n := f.mail.reset(); n != 1 {
		t.Fatalf("forgot for an active account sent %d emails, want 1", n)
	}
	m := pwWaitForMail(t, active, 2, pwSubjectReset)
	pwNoNewMail(t, active, 2)
	if n := len(pwMailsWith(t, active, pwSubjectReset)); n != 1 {
		t.Fatalf("%d reset emails, want exactly 1", n)
	}
	token := testenv.LinkToken(t, m)
	text := strings.ReplaceAll(m.Text, "=\r\n", "")
	for _, s := range []string{stack.LocalAppURL + "/reset-password#token=" + token, "within 1 hour", "signs you out everywhere"} {
		if !strings.Contains(text, s) {
			t.Fatalf("reset email lacks %q:\n%s", s, m.Text)
		}
	}
	pwMailHasNoSecret(t, m, strong)
	if len(token) != 43 {
		t.Fatalf("reset token %q: want 43 characters of 256 random bits", token)
	}

	for _, c := range []struct {
		name   string
		email  string
		before int // the address's emails so far
	}{
		{"unknown address", testenv.Email(t), 0},
		{"pending account", pending, 1},
		{"unknown address in another case", strings.ToUpper(testenv.Email(t)), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := forgot(c.email)
			if got.Code != first.Code || got.Body.String() != first.Body.String() ||
				got.Header().Get("Content-Type") != first.Header().Get("Content-Type") {
				t.Fatalf("answer %d %q %q, want the active account's %d %q %q", got.Code,
					got.Header().Get("Content-Type"), got.Body, first.Code, first.Header().Get("Content-Type"), first.Body)
			}
			if n := f.mail.reset(); n != 0 {
				t.Fatalf("sent %d emails, want none", n)
			}
			pwNoNewMail(t, strings.ToLower(c.email), c.before)
		})
	}

	t.Run("malformed", func(t *testing.T) {
		for _, c := range []struct {
			name, body string
			code       string
			fields     map[string]string
		}{
			{"not an address", `{"email":"not-an-email"}`, "validation_failed", map[string]string{"email": "invalid_email"}},
			{"no local part", `{"email":"@example.com"}`, "validation_failed", map[string]string{"email": "invalid_email"}},
			{"two at signs", `{"email":"a@@example.com"}`, "validation_failed", map[string]string{"email": "invalid_email"}},
			{"too long", `{"email":"` + strings.Repeat("a", 250) + `@example.com"}`, "validation_failed", map[string]string{"email": "invalid_email"}},
			{"empty", `{"email":""}`, "validation_failed", map[string]string{"email": "invalid_email"}},
			{"missing", `{}`, "validation_failed", map[string]string{"email": "invalid_email"}},
			{"wrong type", `{"email":42}`, "validation_failed", map[string]string{"email": "wrong_type"}},
			{"unknown field", `{"email":"` + active + `","password":"x"}`, "validation_failed", map[string]string{"password": "unknown_field"}},
			{"not JSON", `email=` + active, "malformed_json", nil},
			{"two objects", `{"email":"` + active + `"}{}`, "malformed_json", nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, _, out := f.call(t, http.MethodPost, "/v1/password/forgot", c.body, "", "")
				pwWantProblem(t, c.name, status, out, http.StatusBadRequest, c.code, c.fields)
				if n := f.mail.reset(); n != 0 {
					t.Fatalf("sent %d emails, want none", n)
				}
			})
		}
		pwNoNewMail(t, active, 2)
	})

	t.Run("the active address in another case", func(t *testing.T) {
		got := forgot("  " + strings.ToUpper(active) + " ")
		if got.Code != first.Code || got.Body.String() != first.Body.String() {
			t.Fatalf("answer %d %q, want %d %q", got.Code, got.Body, first.Code, first.Body)
		}
		m := pwWaitForMail(t, active, 3, pwSubjectReset)
		if again := testenv.LinkToken(t, m); again == token {
			t.Fatal("a second reset email carries the same token")
		}
	})
}

func TestResetPassword(t *testing.T) {
	f := newFixture(t, io.Discard)

	t.Run("revokes every session and sets the new password", func(t *testing.T) {
		email := testenv.Email(t)
		sessions := []string{f.activeAccount(t, email), f.pwMustLogin(t, email, strong), f.pwMustLogin(t, email, strong)}
		f.pwWantSessions(t, "before the reset", map[string]bool{sessions[0]: true, sessions[1]: true, sessions[2]: true})
		token := f.pwForgot(t, email, 2)

		rec := f.pwSend(t, http.MethodPost, "/v1/password/reset", pwResetBody(token, pwStrong2), "")
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Fatalf("reset: %d %q, want 204 and no body", rec.Code, rec.Body)
		}
		f.pwWantSessions(t, "after the reset", map[string]bool{sessions[0]: false, sessions[1]: false, sessions[2]: false})
		pwWantChangedMail(t, pwWaitForMail(t, email, 3, pwSubjectChanged), strong, pwStrong2, token)

		f.pwWantLogin(t, "new password", email, pwStrong2, http.StatusOK, "")
		f.pwWantLogin(t, "old password", email, strong, http.StatusUnauthorized, "invalid_credentials")

		status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(token, pwStrong3), "", "")
		pwWantProblem(t, "the same token again", status, out, http.StatusBadRequest, "invalid_token", nil)
		f.pwWantLogin(t, "after the reused token", email, pwStrong2, http.StatusOK, "")
		f.pwWantLogin(t, "the reused token's password", email, pwStrong3, http.StatusUnauthorized, "invalid_credentials")
		pwNoNewMail(t, email, 3)
	})

	t.Run("unknown token", func(t *testing.T) {
		for _, tok := range []string{"x", strings.Repeat("A", 43), strings.Repeat("b", 128)} {
			status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(tok, pwStrong2), "", "")
			pwWantProblem(t, "token "+tok, status, out, http.StatusBadRequest, "invalid_token", nil)
		}
		// A token that is too long, or none, is a validation error of the field.
		for _, tok := range []string{"", strings.Repeat("b", 129)} {
			status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(tok, pwStrong2), "", "")
			pwWantProblem(t, fmt.Sprintf("token of length %d", len(tok)), status, out, http.StatusBadRequest,
				"validation_failed", map[string]string{"token": "invalid_token"})
		}
	})

	t.Run("a verification token is no reset token", func(t *testing.T) {
		email := testenv.Email(t)
		if s := f.post(t, "/v1/signup", signupBody(email)); s != http.StatusAccepted {
			t.Fatalf("signup: %d", s)
		}
		verify := testenv.LinkToken(t, testenv.WaitForMails(t, email, 1)[0])
		status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(verify, pwStrong2), "", "")
		pwWantProblem(t, "reset with a verification token", status, out, http.StatusBadRequest, "invalid_token", nil)
	})

	t.Run("policy refusals keep the token usable", func(t *testing.T) {
		email := testenv.Email(t)
		f.activeAccount(t, email)
		token := f.pwForgot(t, email, 2)
		f.mail.reset()
		for _, c := range []struct {
			name, pass, code string
		}{
			{"too short", "short-pass", "password_too_short"},
			{"too common", "aaaaaaaaaaaaaaaaaaaa", "password_too_common"},
			{"common phrase", "passwordpassword123", "password_too_common"},
			{"the email address", email + "-x", "password_has_personal_info"},
			{"control character", "violet-harbor\tquantum-88-lantern", "password_invalid"},
			{"too long", strings.Repeat("violet-harbor-", 20), "password_invalid"},
			{"empty", "", "required"},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(token, c.pass), "", "")
				pwWantProblem(t, c.name, status, out, http.StatusBadRequest, "validation_failed", map[string]string{"new_password": c.code})
				if strings.Contains(pwJSON(t, out), c.pass) && len(c.pass) >= 8 {
					t.Fatalf("the problem echoes the refused password: %v", out)
				}
			})
		}
		if n := f.mail.reset(); n != 0 {
			t.Fatalf("refusals sent %d emails", n)
		}
		f.pwWantLogin(t, "after the refusals, the old password", email, strong, http.StatusOK, "")
		status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(token, pwStrong2), "", "")
		if status != http.StatusNoContent {
			t.Fatalf("reset with the token after refusals: %d %v", status, out)
		}
		f.pwWantLogin(t, "new password", email, pwStrong2, http.StatusOK, "")
	})

	t.Run("malformed bodies", func(t *testing.T) {
		for _, c := range []struct {
			name, body, code string
			fields           map[string]string
		}{
			{"empty object", `{}`, "validation_failed", map[string]string{"token": "invalid_token"}},
			{"no password", `{"token":"abc"}`, "validation_failed", map[string]string{"new_password": "required"}},
			{"unknown field", `{"token":"abc","new_password":"` + pwStrong2 + `","password":"x"}`, "validation_failed", map[string]string{"password": "unknown_field"}},
			{"wrong type", `{"token":"abc","new_password":12345678}`, "validation_failed", map[string]string{"new_password": "wrong_type"}},
			{"not JSON", `token=abc`, "malformed_json", nil},
			{"null", `null`, "malformed_json", nil},
			{"array", `[]`, "malformed_json", nil},
		} {
			status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", c.body, "", "")
			pwWantProblem(t, c.name, status, out, http.StatusBadRequest, c.code, c.fields)
		}
	})

	t.Run("token lifetime", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			after time.Duration
			works bool
		}{
			{"59 minutes after", 59 * time.Minute, true},
			{"61 minutes after", 61 * time.Minute, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				email := testenv.Email(t)
				f.activeAccount(t, email)
				token := f.pwForgot(t, email, 2)
				f.mail.reset()
				f.clock.Advance(c.after)
				status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(token, pwStrong2), "", "")
				if c.works {
					if status != http.StatusNoContent {
						t.Fatalf("reset: %d %v, want 204", status, out)
					}
					f.pwWantLogin(t, "new password", email, pwStrong2, http.StatusOK, "")
					return
				}
				pwWantProblem(t, "expired token", status, out, http.StatusBadRequest, "invalid_token", nil)
				f.pwWantLogin(t, "old password after the expired token", email, strong, http.StatusOK, "")
				f.pwWantLogin(t, "the expired token's password", email, pwStrong2, http.StatusUnauthorized, "invalid_credentials")
				if n := f.mail.reset(); n != 0 {
					t.Fatalf("an expired token sent %d emails", n)
				}
			})
		}
	})
}

// TestResetClearsLockout locks an account with a short policy, then resets
// its password by email, which must unlock it.
func TestResetClearsLockout(t *testing.T) {
	f := newFixtureWith(t, io.Discard, options{throttle: &throttle.Policy{FreeFailures: 2, BaseDelay: time.Second,
		MaxDelay: time.Minute, LockAfter: 4, Memory: time.Hour, LockMemory: time.Hour}})
	email := testenv.Email(t)
	old := f.activeAccount(t, email)
	for i := range 4 {
		f.clock.Advance(time.Minute) // past any delay: each attempt is a real failure
		f.pwWantLogin(t, fmt.Sprintf("wrong password %d", i+1), email, "wrong-"+strong, http.StatusUnauthorized, "invalid_credentials")
	}
	m := pwWaitForMail(t, email, 2, pwSubjectLocked)
	if !strings.Contains(m.Text, stack.LocalAppURL+"/forgot-password") {
		t.Fatalf("lock email lacks the reset link:\n%s", m.Text)
	}
	pwMailHasNoSecret(t, m, strong)
	f.clock.Advance(10 * time.Minute) // a lock is not a delay: it does not pass
	status, retry, out := f.call(t, http.MethodPost, "/v1/login", creds(email, strong), "", "")
	pwWantProblem(t, "locked, right password", status, out, http.StatusTooManyRequests, "login_locked", nil)
	if retry != 0 {
		t.Fatalf("a lock has no end to wait for, but Retry-After is %d", retry)
	}
	if !f.pwSessionWorks(t, old) {
		t.Fatal("the lock ended an existing session")
	}

	token := f.pwForgot(t, email, 3)
	status, _, out = f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(token, pwStrong2), "", "")
	if status != http.StatusNoContent {
		t.Fatalf("reset of a locked account: %d %v", status, out)
	}
	pwWaitForMail(t, email, 4, pwSubjectChanged)
	f.pwWantLogin(t, "new password after the reset", email, pwStrong2, http.StatusOK, "")
	// The first login since the lockout tells the owner; the next one does not.
	notice := pwWaitForMail(t, email, 5, "New sign-in to your Atrium account")
	if !strings.Contains(notice.Text, "locked") {
		t.Fatalf("sign-in notice does not mention the lockout:\n%s", notice.Text)
	}
	f.pwWantLogin(t, "second login after the reset", email, pwStrong2, http.StatusOK, "")
	pwNoNewMail(t, email, 5)
	f.pwWantLogin(t, "old password after the reset", email, strong, http.StatusUnauthorized, "invalid_credentials")
}

// TestResetLinksDieWhenThePasswordChanges: once a reset or a change has set
// a new password, every reset link issued before it is refused (OWASP's
// guidance on outstanding reset tokens).
func TestResetLinksDieWhenThePasswordChanges(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	f.activeAccount(t, email)
	first := f.pwForgot(t, email, 2)
	f.clock.Advance(time.Second)
	second := f.pwForgot(t, email, 3)
	f.clock.Advance(time.Second)
	if status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(second, pwStrong2), "", ""); status != http.StatusNoContent {
		t.Fatalf("reset with the newer link: %d %v", status, out)
	}
	status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(first, pwStrong3), "", "")
	pwWantProblem(t, "older link after a reset", status, out, http.StatusBadRequest, "invalid_token", nil)
	f.pwWantLogin(t, "password set by the newer link", email, pwStrong2, http.StatusOK, "")

	session := f.pwMustLogin(t, email, pwStrong2)
	third := f.pwForgot(t, email, 5)
	f.clock.Advance(time.Second)
	if s := f.pwSend(t, http.MethodPost, "/v1/password/change", pwChangeBody(pwStrong2, pwStrong4), session); s.Code != http.StatusNoContent {
		t.Fatalf("change: %d %s", s.Code, s.Body)
	}
	status, _, out = f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(third, pwStrong3), "", "")
	pwWantProblem(t, "link issued before a change", status, out, http.StatusBadRequest, "invalid_token", nil)
	f.pwWantLogin(t, "password set by the change", email, pwStrong4, http.StatusOK, "")
}

func TestChangePassword(t *testing.T) {
	f := newFixture(t, io.Discard)
	change := func(bearer, body string) (int, map[string]any) {
		status, _, out := f.call(t, http.MethodPost, "/v1/password/change", body, "", bearer)
		return status, out
	}

	t.Run("keeps the calling session and revokes the others", func(t *testing.T) {
		email := testenv.Email(t)
		s0 := f.activeAccount(t, email)
		s1, s2 := f.pwMustLogin(t, email, strong), f.pwMustLogin(t, email, strong)
		rec := f.pwSend(t, http.MethodPost, "/v1/password/change", pwChangeBody(strong, pwStrong2), s1)
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Fatalf("change: %d %q, want 204 and no body", rec.Code, rec.Body)
		}
		f.pwWantSessions(t, "after the change", map[string]bool{s0: false, s1: true, s2: false})
		status, _, out := f.call(t, http.MethodGet, "/v1/sessions", "", "", s1)
		if list, _ := out["sessions"].([]any); status != http.StatusOK || len(list) != 1 {
			t.Fatalf("sessions after the change: %d %v, want only the caller's", status, out)
		}
		pwWantChangedMail(t, pwWaitForMail(t, email, 2, pwSubjectChanged), strong, pwStrong2, s1)
		f.pwWantLogin(t, "new password", email, pwStrong2, http.StatusOK, "")
		f.pwWantLogin(t, "old password", email, strong, http.StatusUnauthorized, "invalid_credentials")
		if !f.pwSessionWorks(t, s1) {
			t.Fatal("the calling session died")
		}
	})

	t.Run("wrong current password changes nothing", func(t *testing.T) {
		email := testenv.Email(t)
		s0 := f.activeAccount(t, email)
		s1 := f.pwMustLogin(t, email, strong)
		status, out := change(s1, pwChangeBody("wrong-"+strong, pwStrong2))
		pwWantProblem(t, "wrong current password", status, out, http.StatusForbidden, "wrong_password", nil)
		f.pwWantSessions(t, "after the refusal", map[string]bool{s0: true, s1: true})
		f.pwWantLogin(t, "old password", email, strong, http.StatusOK, "")
		f.pwWantLogin(t, "refused new password", email, pwStrong2, http.StatusUnauthorized, "invalid_credentials")
		if n := f.mail.reset(); n != 0 {
			t.Fatalf("a refused change sent %d emails", n)
		}
		pwNoNewMail(t, email, 1)
	})

	t.Run("refused bodies change nothing", func(t *testing.T) {
		email := testenv.Email(t)
		s0 := f.activeAccount(t, email)
		s1 := f.pwMustLogin(t, email, strong)
		for _, c := range []struct {
			name, body string
			status     int
			code       string
			fields     map[string]string
		}{
			{"new too short", pwChangeBody(strong, "short-pass"), 400, "validation_failed", map[string]string{"new_password": "password_too_short"}},
			{"new too common", pwChangeBody(strong, "aaaaaaaaaaaaaaaaaaaa"), 400, "validation_failed", map[string]string{"new_password": "password_too_common"}},
			{"new is the address", pwChangeBody(strong, email+"-x"), 400, "validation_failed", map[string]string{"new_password": "password_has_personal_info"}},
			{"new has a control character", pwChangeBody(strong, "violet-harbor\nquantum-88-lantern"), 400, "validation_failed", map[string]string{"new_password": "password_invalid"}},
			{"new too long", pwChangeBody(strong, strings.Repeat("violet-harbor-", 20)), 400, "validation_failed", map[string]string{"new_password": "password_invalid"}},
			{"both missing", `{}`, 400, "validation_failed", map[string]string{"current_password": "required", "new_password": "required"}},
			{"new missing", `{"current_password":"` + strong + `"}`, 400, "validation_failed", map[string]string{"new_password": "required"}},
			{"current missing", `{"new_password":"` + pwStrong2 + `"}`, 400, "validation_failed", map[string]string{"current_password": "required"}},
			{"unknown field", `{"current_password":"` + strong + `","new_password":"` + pwStrong2 + `","password":"x"}`, 400, "validation_failed", map[string]string{"password": "unknown_field"}},
			{"wrong type", `{"current_password":"` + strong + `","new_password":true}`, 400, "validation_failed", map[string]string{"new_password": "wrong_type"}},
			{"not JSON", `current_password=x`, 400, "malformed_json", nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, out := change(s1, c.body)
				pwWantProblem(t, c.name, status, out, c.status, c.code, c.fields)
			})
		}
		f.pwWantSessions(t, "after the refusals", map[string]bool{s0: true, s1: true})
		f.pwWantLogin(t, "old password", email, strong, http.StatusOK, "")
		if n := f.mail.reset(); n != 0 {
			t.Fatalf("refused changes sent %d emails", n)
		}
	})

	t.Run("needs a live session", func(t *testing.T) {
		email := testenv.Email(t)
		s0 := f.activeAccount(t, email)
		ended := f.pwMustLogin(t, email, strong)
		if status, _, out := f.call(t, http.MethodPost, "/v1/logout", "", "", ended); status != http.StatusNoContent {
			t.Fatalf("logout: %d %v", status, out)
		}
		for _, c := range []struct{ name, bearer string }{
			{"no session", ""},
			{"garbage bearer", "not-a-token"},
			{"forged secret", pwAccountID(s0) + "." + pwSessionID(s0) + "." + strings.Repeat("A", 43)},
			{"ended session", ended},
		} {
			status, out := change(c.bearer, pwChangeBody(strong, pwStrong2))
			pwWantProblem(t, c.name, status, out, http.StatusUnauthorized, "unauthenticated", nil)
		}
		f.pwWantLogin(t, "old password", email, strong, http.StatusOK, "")
		if n := f.mail.reset(); n != 0 {
			t.Fatalf("unauthenticated changes sent %d emails", n)
		}
	})
}

// pwnedServer speaks the Have I Been Pwned range API for a set of listed
// passwords, and records the paths it was asked for.
type pwnedServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "METHOD path?query body-length"
}

func pwSHA1Hex(s string) string {
	sum := sha1.Sum([]byte(s)) // #nosec G401 -- the API's key
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func newPwnedServer(t testing.TB, listed ...string) *pwnedServer {
	t.Helper()
	p := &pwnedServer{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.requests = append(p.requests, fmt.Sprintf("%s %s %d", r.Method, r.URL.RequestURI(), len(body)))
		p.mu.Unlock()
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if r.Method != http.MethodGet || !ok || len(prefix) != 5 || strings.Trim(prefix, "0123456789ABCDEF") != "" {
			http.NotFound(w, r)
			return
		}
		// Padding (count 0) and an unrelated listed suffix, as the real
		// service sends under every prefix.
		lines := []string{strings.Repeat("0", 35) + ":0", strings.Repeat("F", 34) + "E:3"}
		for _, pw := range listed {
			if h := pwSHA1Hex(pw); h[:5] == prefix {
				lines = append(lines, h[5:]+":42")
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.Join(lines, "\r\n"))
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *pwnedServer) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

func TestBreachedPasswordCheck(t *testing.T) {
	const listed = pwStrong2 // a policy-passing password that "appears in breaches"
	pwned := newPwnedServer(t, listed)
	checker, err := breached.New(breached.Options{BaseURL: pwned.URL, Timeout: 2 * time.Second, FailClosed: true})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, io.Discard, options{breached: checker})

	t.Run("verification with a breached password", func(t *testing.T) {
		email := testenv.Email(t)
		link := f.signupLink(t, email)
		before := len(pwned.seen())
		status, _, out := f.call(t, http.MethodPost, "/v1/signup/verify", verifyBody(link, listed), "", "")
		pwWantProblem(t, "breached verification", status, out, http.StatusBadRequest, "validation_failed",
			map[string]string{"password": "password_breached"})
		// Only the first five hex characters of the SHA-1 left the process.
		seen := pwned.seen()[before:]
		if want := []string{"GET /range/" + pwSHA1Hex(listed)[:5] + " 0"}; !slices.Equal(seen, want) {
			t.Fatalf("the service saw %q, want %q", seen, want)
		}
		if strings.Contains(pwJSON(t, out), listed) {
			t.Fatalf("the problem echoes the password: %v", out)
		}
		// The refusal left the link usable: a password not listed activates.
		if status, _, out := f.call(t, http.MethodPost, "/v1/signup/verify", verifyBody(link, pwStrong3), "", ""); status != http.StatusCreated {
			t.Fatalf("verification with a password not listed: %d %v", status, out)
		}
	})

	t.Run("reset and change to a breached password", func(t *testing.T) {
		email := testenv.Email(t)
		sess := f.activeAccount(t, email)
		token := f.pwForgot(t, email, 2)
		status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(token, listed), "", "")
		pwWantProblem(t, "breached reset", status, out, http.StatusBadRequest, "validation_failed",
			map[string]string{"new_password": "password_breached"})
		status, _, out = f.call(t, http.MethodPost, "/v1/password/change", pwChangeBody(strong, listed), "", sess)
		pwWantProblem(t, "breached change", status, out, http.StatusBadRequest, "validation_failed",
			map[string]string{"new_password": "password_breached"})
		f.pwWantLogin(t, "old password", email, strong, http.StatusOK, "")
		f.pwWantLogin(t, "breached password", email, listed, http.StatusUnauthorized, "invalid_credentials")
		// The refused reset left the token usable.
		if status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(token, pwStrong3), "", ""); status != http.StatusNoContent {
			t.Fatalf("reset after the refusal: %d %v", status, out)
		}
	})

	// A checker whose service is down: the port of a closed server.
	closed := httptest.NewServer(http.NotFoundHandler())
	down := closed.URL
	closed.Close()

	t.Run("fail closed", func(t *testing.T) {
		c, err := breached.New(breached.Options{BaseURL: down, Timeout: time.Second, FailClosed: true})
		if err != nil {
			t.Fatal(err)
		}
		f := newFixtureWith(t, io.Discard, options{breached: c})
		email := testenv.Email(t)
		link := f.signupLink(t, email)
		status, _, out := f.call(t, http.MethodPost, "/v1/signup/verify", verifyBody(link, pwStrong3), "", "")
		pwWantProblem(t, "verification, service down, fail closed", status, out, http.StatusServiceUnavailable, "breach_check_unavailable", nil)
		f.pwWantLogin(t, "unverified", email, pwStrong3, http.StatusUnauthorized, "invalid_credentials")
	})

	t.Run("fail open", func(t *testing.T) {
		var failures int
		var mu sync.Mutex
		c, err := breached.New(breached.Options{BaseURL: down, Timeout: time.Second,
			OnFailure: func(error) { mu.Lock(); failures++; mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		f := newFixtureWith(t, io.Discard, options{breached: c})
		email := testenv.Email(t)
		link := f.signupLink(t, email)
		if status, _, out := f.call(t, http.MethodPost, "/v1/signup/verify", verifyBody(link, pwStrong3), "", ""); status != http.StatusCreated {
			t.Fatalf("verification, service down, fail open: %d %v, want 201", status, out)
		}
		mu.Lock()
		defer mu.Unlock()
		if failures != 1 {
			t.Fatalf("OnFailure called %d times, want 1", failures)
		}
	})
}

func pwJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestResetTokenUsableOnceUnderConcurrency sends the same reset token in
// several requests at once: exactly one may set its password, every other
// answers 400 invalid_token (never a 5xx), and the password is the winner's.
func TestResetTokenUsableOnceUnderConcurrency(t *testing.T) {
	f := newFixture(t, io.Discard)
	for round := range 3 {
		email := testenv.Email(t)
		f.activeAccount(t, email)
		token := f.pwForgot(t, email, 2)
		passwords := []string{pwStrong2, pwStrong3, pwStrong4}
		statuses := make([]int, len(passwords))
		codes := make([]string, len(passwords))
		var wg sync.WaitGroup
		for i, p := range passwords {
			wg.Go(func() {
				status, _, out := f.call(t, http.MethodPost, "/v1/password/reset", pwResetBody(token, p), "", "")
				statuses[i] = status
				codes[i], _ = out["code"].(string)
			})
		}
		wg.Wait()
		winner := -1
		for i := range passwords {
			switch {
			case statuses[i] == http.StatusNoContent && winner < 0:
				winner = i
			case statuses[i] == http.StatusBadRequest && codes[i] == "invalid_token":
			default:
				t.Fatalf("round %d: concurrent resets with one token answered %v %q; want one 204 and the rest 400 invalid_token",
					round, statuses, codes)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no reset succeeded: %v %q", round, statuses, codes)
		}
		for i, p := range passwords {
			want, code := http.StatusUnauthorized, "invalid_credentials"
			if i == winner {
				want, code = http.StatusOK, ""
			}
			f.pwWantLogin(t, fmt.Sprintf("round %d, password %d", round, i), email, p, want, code)
		}
		if n := len(pwMailsWith(t, email, pwSubjectChanged)); n != 1 {
			t.Fatalf("round %d: %d change emails, want 1", round, n)
		}
	}
}

// TestConcurrentChangesNeverBothWin sends two password changes of one
// account at once, both proving the current password: at most one wins
// (compare-and-swap); the other is refused with a 4xx, never a 5xx.
func TestConcurrentChangesNeverBothWin(t *testing.T) {
	f := newFixture(t, io.Discard)
	for round := range 3 {
		email := testenv.Email(t)
		sess := []string{f.activeAccount(t, email), f.pwMustLogin(t, email, strong)}
		next := []string{pwStrong2, pwStrong3}
		statuses := make([]int, 2)
		codes := make([]string, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				status, _, out := f.call(t, http.MethodPost, "/v1/password/change", pwChangeBody(strong, next[i]), "", sess[i])
				statuses[i] = status
				codes[i], _ = out["code"].(string)
			})
		}
		wg.Wait()
		wins := 0
		for i := range 2 {
			switch {
			case statuses[i] == http.StatusNoContent:
				wins++
			case statuses[i] == http.StatusConflict && codes[i] == "password_changed",
				statuses[i] == http.StatusForbidden && codes[i] == "wrong_password",
				statuses[i] == http.StatusUnauthorized && codes[i] == "unauthenticated": // revoked by the winner
			default:
				t.Fatalf("round %d: concurrent changes answered %v %q", round, statuses, codes)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d changes won (%v %q), want exactly 1", round, wins, statuses, codes)
		}
	}
}

// TestForgotAnswersEveryAddressAtTheSameMoment proves structurally (no
// stopwatch) that a forgot-password request for a registered address, which
// sends an email, and one for an unknown address, which does not, both wait
// until one second after the request began before answering — after their
// work is done.
func TestForgotAnswersEveryAddressAtTheSameMoment(t *testing.T) {
	type pause struct {
		floor      time.Duration
		mailsSoFar int
	}
	var (
		mu     sync.Mutex
		pauses []pause
		f      *fixture
		began  time.Time
	)
	f = newFixtureWith(t, io.Discard, options{answerPause: func(_ context.Context, until time.Time) {
		mu.Lock()
		defer mu.Unlock()
		pauses = append(pauses, pause{until.Sub(began).Round(100 * time.Millisecond), f.mail.reset()})
	}})
	email := testenv.Email(t)
	f.activeAccount(t, email)
	pauses = nil // the set-up's own signup
	for _, addr := range []string{email, testenv.Email(t)} {
		began = time.Now()
		if status, _, out := f.call(t, http.MethodPost, "/v1/password/forgot", `{"email":"`+addr+`"}`, "", ""); status != http.StatusAccepted {
			t.Fatalf("forgot: %d %v", status, out)
		}
	}
	want := []pause{{DefaultAnswerFloor, 1}, {DefaultAnswerFloor, 0}}
	if fmt.Sprint(pauses) != fmt.Sprint(want) {
		t.Fatalf("pauses %v, want %v: both answers wait for the same moment, after the email (if any) went out", pauses, want)
	}
}
