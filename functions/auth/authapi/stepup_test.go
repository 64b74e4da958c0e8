package authapi

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/mfa"
)

// stepUpBody is a step-up with a code (or, for "password", the password).
func stepUpBody(method, secret string) string {
	if method == "password" {
		return mfaJSON(StepUpRequest{Method: method, Password: secret})
	}
	return mfaJSON(StepUpRequest{Method: method, Code: secret})
}

// TestStepUpWindow: every sensitive change of an account with a second
// factor needs a proof of one within STEP_UP_WINDOW: fresh after a login
// with it, refused (403 step_up_required, nothing changed) once the window
// has passed, fresh again after a step-up with a code; the password alone
// is no step-up for such an account; and a session made before the first
// factor was enrolled is never upgraded by the enrolment.
func TestStepUpWindow(t *testing.T) {
	f := newFixture(t, io.Discard)
	u := f.newMFAUser(t)
	window := mfa.DefaultStepUpWindow
	login := func() string {
		f.nextStep()
		status, out := f.finish(t, f.challenge(t, u), "totp", f.code(t, u))
		if status != http.StatusOK {
			t.Fatalf("login: %d %v", status, out)
		}
		return sessionToken(out)
	}
	changes := []struct {
		name, method, path, body string
		done                     int
	}{
		{"new recovery codes", http.MethodPost, "/v1/mfa/recovery-codes", "", http.StatusCreated},
		{"enrol another factor", http.MethodPost, "/v1/mfa/totp", `{}`, http.StatusCreated},
		{"remove a pending factor", http.MethodDelete, "", "", http.StatusNoContent}, // path: the factor enrolled above
		{"change the password", http.MethodPost, "/v1/password/change", pwChangeBody(strong, strong), http.StatusNoContent},
	}
	pending := ""
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			if c.path == "" {
				c.path = "/v1/mfa/factors/" + pending
			}
			tok := login()
			f.clock.Advance(window + time.Second)
			if status, out := f.mfaCall(t, c.method, c.path, c.body, tok); status != http.StatusForbidden || out["code"] != "step_up_required" {
				t.Fatalf("past the window: %d %v", status, out)
			}
			if status, out := f.mfaCall(t, http.MethodPost, "/v1/session/step-up", stepUpBody("password", strong), tok); status != http.StatusBadRequest || pwProblemFields(out)["method"] != "method_unavailable" {
				t.Fatalf("a password step-up of an MFA account: %d %v", status, out)
			}
			f.nextStep()
			status, out := f.mfaCall(t, http.MethodPost, "/v1/session/step-up", stepUpBody("totp", f.code(t, u)), tok)
			if status != http.StatusOK {
				t.Fatalf("step-up: %d %v", status, out)
			}
			f.clock.Advance(window - time.Second)
			status, out = f.mfaCall(t, c.method, c.path, c.body, tok)
			if status != c.done {
				t.Fatalf("within the window after a step-up: %d %v, want %d", status, out, c.done)
			}
			if f, ok := out["factor"].(map[string]any); ok {
				pending, _ = f["id"].(string)
			}
		})
	}

	// The session that enrolled the first factor was made with the
	// password alone: within its window it is not upgraded; it must step
	// up with the factor before any sensitive change.
	t.Run("a session made before enrolment", func(t *testing.T) {
		v := f.newMFAUser(t)
		if status, out := f.mfaCall(t, http.MethodPost, "/v1/mfa/recovery-codes", "", v.bearer); status != http.StatusForbidden || out["code"] != "step_up_required" {
			t.Fatalf("regenerate from the pre-enrolment session: %d %v", status, out)
		}
		if amr := f.amrs(t, v.bearer)[pwSessionID(v.bearer)]; !slices.Equal(amr, []string{"password"}) {
			t.Fatalf("its amr %v, want [password]", amr)
		}
	})

	// Removing the last factor needs a step-up too, and takes the
	// recovery codes with it; the next login needs only the password.
	t.Run("remove the last factor", func(t *testing.T) {
		v := f.newMFAUser(t)
		if status, _ := f.mfaCall(t, http.MethodDelete, "/v1/mfa/factors/"+v.factorID, "", v.bearer); status != http.StatusForbidden {
			t.Fatalf("remove without step-up: %d", status)
		}
		if status, out := f.mfaCall(t, http.MethodPost, "/v1/session/step-up", stepUpBody("recovery_code", v.codes[0]), v.bearer); status != http.StatusOK || out["recovery_codes_left"] != float64(9) {
			t.Fatalf("step-up with a recovery code: %d %v", status, out)
		}
		if status, out := f.mfaCall(t, http.MethodDelete, "/v1/mfa/factors/"+v.factorID, "", v.bearer); status != http.StatusNoContent {
			t.Fatalf("remove: %d %v", status, out)
		}
		if m := testenv.WaitForMails(t, v.email, 3)[0]; m.Subject != "A second factor was removed from your Atrium account" {
			t.Fatalf("newest email %q", m.Subject)
		}
		status, out := f.mfaCall(t, http.MethodGet, "/v1/mfa", "", v.bearer)
		if rc, _ := out["recovery_codes"].(map[string]any); status != http.StatusOK || rc["left"] != float64(0) || len(toStrings(out["methods"])) != 0 {
			t.Fatalf("after removing the last factor: %d %v", status, out)
		}
		if status, _, out := f.call(t, http.MethodPost, "/v1/login", creds(v.email, strong), "", ""); status != http.StatusOK || out["session"] == nil {
			t.Fatalf("login: %d %v, want a session", status, out)
		}
	})

	// An account without a second factor: the password in the body of a
	// change or deletion is its step-up (it needs none before); other
	// sensitive routes step up with the password once the window passed.
	t.Run("an account without a second factor", func(t *testing.T) {
		email := testenv.Email(t)
		tok := f.activeAccount(t, email)
		f.clock.Advance(window + time.Second)
		if status, out := f.mfaCall(t, http.MethodPost, "/v1/mfa/totp", `{}`, tok); status != http.StatusForbidden || out["code"] != "step_up_required" {
			t.Fatalf("enrol past the window: %d %v", status, out)
		}
		if status, out := f.mfaCall(t, http.MethodPost, "/v1/password/change", pwChangeBody(strong, pwStrong2), tok); status != http.StatusNoContent {
			t.Fatalf("change with the password in the body: %d %v", status, out)
		}
		if status, out := f.mfaCall(t, http.MethodPost, "/v1/session/step-up", stepUpBody("password", pwStrong2), tok); status != http.StatusOK {
			t.Fatalf("password step-up: %d %v", status, out)
		}
		if status, out := f.mfaCall(t, http.MethodPost, "/v1/mfa/totp", `{}`, tok); status != http.StatusCreated {
			t.Fatalf("enrol after the step-up: %d %v", status, out)
		}
	})
}
