package authapi

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// mfaJSON marshals a request body.
func mfaJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// mfaCall sends a request to the handler and decodes the answer.
func (f *fixture) mfaCall(t testing.TB, method, path, body, bearer string) (int, map[string]any) {
	t.Helper()
	rec := f.pwSend(t, method, path, body, bearer)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// mfaUser is an account with an active TOTP factor.
type mfaUser struct {
	email, bearer string // bearer: the session that enrolled the factor (made before it)
	factorID      string
	secret        string   // base32, as the enrolment showed it
	codes         []string // recovery codes, as the confirmation showed them
}

// code is the factor's current code, computed by the tests' own TOTP.
func (f *fixture) code(t testing.TB, u *mfaUser) string {
	t.Helper()
	return testenv.TOTPFromBase32(t, u.secret, f.clock.Now())
}

// nextStep moves the clock to the next TOTP time step, so that a new code
// is not a replay of the last one.
func (f *fixture) nextStep() { f.clock.Advance(30 * time.Second) }

// enrol starts a TOTP enrolment with the session and returns the factor
// id and secret.
func (f *fixture) enrol(t testing.TB, bearer string) (id, secret string) {
	t.Helper()
	status, out := f.mfaCall(t, http.MethodPost, "/v1/mfa/totp", `{"name":"phone"}`, bearer)
	if status != http.StatusCreated {
		t.Fatalf("enrol: %d %v", status, out)
	}
	factor, _ := out["factor"].(map[string]any)
	id, _ = factor["id"].(string)
	secret, _ = out["secret"].(string)
	uri, _ := out["otpauth_uri"].(string)
	if factor["status"] != "pending" || !strings.HasPrefix(uri, "otpauth://totp/Atrium:") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("enrolment %v", out)
	}
	return id, secret
}

// newMFAUser makes an active account and enrols and confirms a TOTP factor.
func (f *fixture) newMFAUser(t testing.TB) *mfaUser {
	t.Helper()
	u := &mfaUser{email: testenv.Email(t)}
	u.bearer = f.activeAccount(t, u.email)
	u.factorID, u.secret = f.enrol(t, u.bearer)
	status, out := f.mfaCall(t, http.MethodPost, "/v1/mfa/totp/"+u.factorID+"/confirm", mfaJSON(ConfirmTOTPRequest{Code: f.code(t, u)}), u.bearer)
	if status != http.StatusOK {
		t.Fatalf("confirm: %d %v", status, out)
	}
	for _, c := range out["recovery_codes"].([]any) {
		u.codes = append(u.codes, c.(string))
	}
	if len(u.codes) != 10 {
		t.Fatalf("confirm gave %d recovery codes", len(u.codes))
	}
	f.nextStep()
	f.mail.reset()
	return u
}

// challenge logs in with the password and returns the mfa_token.
func (f *fixture) challenge(t testing.TB, u *mfaUser) string {
	t.Helper()
	status, _, out := f.call(t, http.MethodPost, "/v1/login", creds(u.email, strong), "", "")
	if status != http.StatusOK || out["mfa_required"] != true || out["session"] != nil {
		t.Fatalf("login: %d %v, want 200 mfa_required and no session", status, out)
	}
	tok, _ := out["mfa_token"].(string)
	return tok
}

func (f *fixture) finish(t testing.TB, token, method, code string) (int, map[string]any) {
	t.Helper()
	return f.mfaCall(t, http.MethodPost, "/v1/login/mfa", mfaJSON(LoginMFARequest{MFAToken: token, Method: method, Code: code}), "")
}

func sessionToken(out map[string]any) string {
	sess, _ := out["session"].(map[string]any)
	tok, _ := sess["token"].(string)
	return tok
}

// TestTOTPEnrolmentAndLogin walks a TOTP factor's life: enrolment shows
// the secret once, a wrong first code does not confirm it, the right one
// does (with ten recovery codes) and emails the owner; a login then gets a
// challenge, not a session, and the challenge is finished with a code,
// once; the session records both factors.
func TestTOTPEnrolmentAndLogin(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	bearer := f.activeAccount(t, email)
	id, secret := f.enrol(t, bearer)

	// Pending: listed without its secret; a login still needs only the password.
	status, out := f.mfaCall(t, http.MethodGet, "/v1/mfa", "", bearer)
	if status != http.StatusOK || strings.Contains(mfaJSON(out), secret) || len(out["methods"].([]any)) != 0 {
		t.Fatalf("GET /v1/mfa while pending: %d %v", status, out)
	}
	u := &mfaUser{email: email, bearer: bearer, factorID: id, secret: secret}
	wrong := testenv.TOTP([]byte("another secret of twenty bytes"), f.clock.Now(), 6)
	if status, out := f.mfaCall(t, http.MethodPost, "/v1/mfa/totp/"+id+"/confirm", mfaJSON(ConfirmTOTPRequest{Code: wrong}), bearer); status != http.StatusForbidden || out["code"] != "wrong_code" {
		t.Fatalf("confirm with a wrong code: %d %v", status, out)
	}
	status, out = f.mfaCall(t, http.MethodPost, "/v1/mfa/totp/"+id+"/confirm", mfaJSON(ConfirmTOTPRequest{Code: f.code(t, u)}), bearer)
	if status != http.StatusOK || len(out["recovery_codes"].([]any)) != 10 {
		t.Fatalf("confirm: %d %v", status, out)
	}
	if m := testenv.WaitForMails(t, email, 2); !strings.Contains(m[0].Subject, "second factor was added") ||
		!strings.Contains(m[0].Text, "/settings/sessions") || strings.Contains(m[0].Text, secret) {
		t.Fatalf("newest email %q: %s", m[0].Subject, m[0].Text)
	}
	status, out = f.mfaCall(t, http.MethodGet, "/v1/mfa", "", bearer)
	if status != http.StatusOK || strings.Contains(mfaJSON(out), secret) || !slices.Equal(toStrings(out["methods"]), []string{"totp", "recovery_code"}) {
		t.Fatalf("GET /v1/mfa: %d %v", status, out)
	}

	// A login: a challenge, then the code; the same step's code again is a replay.
	f.nextStep()
	code := f.code(t, u)
	tok := f.challenge(t, u)
	status, out = f.finish(t, tok, "totp", code)
	if status != http.StatusOK || sessionToken(out) == "" || out["recovery_codes_left"] != nil {
		t.Fatalf("finish: %d %v", status, out)
	}
	sessions := f.amrs(t, sessionToken(out))
	if !slices.Equal(sessions[pwSessionID(sessionToken(out))], []string{"password", "totp"}) || !slices.Equal(sessions[pwSessionID(bearer)], []string{"password"}) {
		t.Fatalf("sessions' amr %v", sessions)
	}
	if status, out := f.finish(t, tok, "totp", code); status != http.StatusUnauthorized || out["code"] != "invalid_mfa_token" {
		t.Fatalf("the challenge again: %d %v", status, out)
	}
	if status, out := f.finish(t, f.challenge(t, u), "totp", code); status != http.StatusUnauthorized || out["code"] != "invalid_second_factor" {
		t.Fatalf("the code again (replay): %d %v", status, out)
	}
	f.nextStep()
	if status, out := f.finish(t, f.challenge(t, u), "totp", f.code(t, u)); status != http.StatusOK {
		t.Fatalf("the next step's code: %d %v", status, out)
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// amrs lists the account's sessions with the bearer and returns each
// one's amr by session id.
func (f *fixture) amrs(t testing.TB, bearer string) map[string][]string {
	t.Helper()
	_, list := f.sessListRaw(t, bearer)
	out := map[string][]string{}
	for _, s := range list {
		out[s.ID] = s.AMR
	}
	return out
}
