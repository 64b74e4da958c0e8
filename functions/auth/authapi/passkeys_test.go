package authapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/passkeys/passkeystest"
)

// raw sends a request to the handler and returns the status and the body
// as sent.
func (f *fixture) raw(t testing.TB, method, path, body, bearer string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.RemoteAddr = "192.0.2.44:40000"
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// must is raw, failing the test unless the status is want.
func (f *fixture) must(t testing.TB, want int, method, path, body, bearer string) []byte {
	t.Helper()
	status, out := f.raw(t, method, path, body, bearer)
	if status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, status, out, want)
	}
	return out
}

func registerBody(name string, credential []byte) string {
	b, _ := json.Marshal(map[string]any{"name": name, "credential": json.RawMessage(credential)})
	return string(b)
}

func credentialBody(credential []byte) string {
	b, _ := json.Marshal(map[string]any{"credential": json.RawMessage(credential)})
	return string(b)
}

// addPasskey registers a passkey with the soft authenticator on the
// session's account and returns it and its id.
func (f *fixture) addPasskey(t testing.TB, a *passkeystest.Authenticator, bearer, name string, backup byte) (*passkeystest.Credential, string) {
	t.Helper()
	opts := f.must(t, http.StatusOK, http.MethodPost, "/v1/passkeys/registration/options", "{}", bearer)
	cred, c, err := a.Create(opts, backup, passkeystest.Tamper{})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Passkey passkeys.Passkey `json:"passkey"`
	}
	if err := json.Unmarshal(f.must(t, http.StatusCreated, http.MethodPost, "/v1/passkeys", registerBody(name, cred), bearer), &out); err != nil {
		t.Fatal(err)
	}
	return c, out.Passkey.ID
}

// passwordless logs in with c and returns the status and the body.
func (f *fixture) passwordless(t testing.TB, a *passkeystest.Authenticator, c *passkeystest.Credential, tamper passkeystest.Tamper) (int, []byte) {
	t.Helper()
	opts := f.must(t, http.StatusOK, http.MethodPost, "/v1/login/passkey/options", "{}", "")
	cred, err := a.Get(opts, c, tamper)
	if err != nil {
		t.Fatal(err)
	}
	return f.raw(t, http.MethodPost, "/v1/login/passkey", credentialBody(cred), "")
}

// stepUpWithPasskey steps the session up with c (a passkey of its account).
func (f *fixture) stepUpWithPasskey(t testing.TB, a *passkeystest.Authenticator, c *passkeystest.Credential, bearer string) {
	t.Helper()
	opts := f.must(t, http.StatusOK, http.MethodPost, "/v1/session/step-up/passkey/options", "{}", bearer)
	cred, err := a.Get(opts, c, passkeystest.Tamper{})
	if err != nil {
		t.Fatal(err)
	}
	f.must(t, http.StatusOK, http.MethodPost, "/v1/session/step-up", proofBody("passkey", cred), bearer)
}

func proofBody(method string, credential []byte) string {
	b, _ := json.Marshal(map[string]any{"method": method, "credential": json.RawMessage(credential)})
	return string(b)
}

func (f *fixture) listPasskeys(t testing.TB, bearer string) []passkeys.Passkey {
	t.Helper()
	var out struct {
		Passkeys []passkeys.Passkey `json:"passkeys"`
	}
	if err := json.Unmarshal(f.must(t, http.StatusOK, http.MethodGet, "/v1/passkeys", "", bearer), &out); err != nil {
		t.Fatal(err)
	}
	return out.Passkeys
}

func problemCode(t testing.TB, body []byte) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Code
}

// TestPasskeyRegistrationAndPasswordlessLogin: a passkey is registered on
// a session (the options as navigator.credentials.create() wants them, a
// user handle that is neither the address nor the account id, the owner
// emailed), listed without its key, and then logs in with no password: a
// session made by the passkey alone.
func TestPasskeyRegistrationAndPasswordlessLogin(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	bearer := f.activeAccount(t, email)
	acctID := pwAccountID(bearer)
	a := passkeystest.New(stack.LocalAppOrigin())

	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct{ ID, Name string }
			User      struct {
				ID          string `json:"id"`
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"user"`
			AuthenticatorSelection struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Attestation string `json:"attestation"`
		} `json:"publicKey"`
	}
	raw := f.must(t, http.StatusOK, http.MethodPost, "/v1/passkeys/registration/options", "{}", bearer)
	if err := json.Unmarshal(raw, &opts); err != nil {
		t.Fatal(err)
	}
	handle, err := base64.RawURLEncoding.DecodeString(opts.PublicKey.User.ID)
	pk := opts.PublicKey
	if err != nil || len(handle) != 32 || strings.Contains(string(handle), email) || strings.Contains(string(handle), acctID) ||
		pk.RP.ID != "localhost" || pk.User.Name != email || pk.AuthenticatorSelection.ResidentKey != "required" ||
		pk.AuthenticatorSelection.UserVerification != "required" || pk.Challenge == "" {
		t.Fatalf("registration options %s", raw)
	}

	cred, c, err := a.Create(raw, passkeystest.FlagBE|passkeystest.FlagBS, passkeystest.Tamper{})
	if err != nil {
		t.Fatal(err)
	}
	out := f.must(t, http.StatusCreated, http.MethodPost, "/v1/passkeys", registerBody("Laptop", cred), bearer)
	var created struct {
		Passkey map[string]any `json:"passkey"`
	}
	if err := json.Unmarshal(out, &created); err != nil {
		t.Fatal(err)
	}
	if created.Passkey["name"] != "Laptop" || created.Passkey["backup_eligible"] != true || created.Passkey["backed_up"] != true ||
		created.Passkey["last_used_at"] != nil || strings.Contains(string(out), "public_key") {
		t.Fatalf("created %s", out)
	}
	if m := testenv.WaitForMails(t, email, 1)[0]; !strings.Contains(m.Subject, "passkey was added") || !strings.Contains(m.Text, `"Laptop"`) {
		t.Fatalf("mail %q %q", m.Subject, m.Text)
	}
	if list := f.listPasskeys(t, bearer); len(list) != 1 || list[0].Name != "Laptop" {
		t.Fatalf("list %+v", list)
	}

	// Passwordless: options that name nothing, then a session.
	var lo struct {
		PublicKey map[string]any `json:"publicKey"`
	}
	loRaw := f.must(t, http.StatusOK, http.MethodPost, "/v1/login/passkey/options", "{}", "")
	if err := json.Unmarshal(loRaw, &lo); err != nil {
		t.Fatal(err)
	}
	if lo.PublicKey["allowCredentials"] != nil || lo.PublicKey["userVerification"] != "required" || lo.PublicKey["rpId"] != "localhost" {
		t.Fatalf("login options %s", loRaw)
	}
	assertion, err := a.Get(loRaw, c, passkeystest.Tamper{})
	if err != nil {
		t.Fatal(err)
	}
	status, _, login := f.call(t, http.MethodPost, "/v1/login/passkey", credentialBody(assertion), "", "")
	if status != http.StatusOK {
		t.Fatalf("passwordless login: %d %v", status, login)
	}
	sess, _ := login["session"].(map[string]any)
	token, _ := sess["token"].(string)
	acct, _ := login["account"].(map[string]any)
	if token == "" || acct["id"] != acctID {
		t.Fatalf("login %v", login)
	}
	var sessions struct {
		Sessions []struct {
			Current bool     `json:"current"`
			Methods []string `json:"amr"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(f.must(t, http.StatusOK, http.MethodGet, "/v1/sessions", "", token), &sessions); err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, s := range sessions.Sessions {
		if s.Current {
			methods = s.Methods
		}
	}
	if len(methods) != 1 || methods[0] != "passkey" {
		t.Fatalf("the passkey session's methods: %v (%+v)", methods, sessions)
	}
	for _, s := range sessions.Sessions {
		if !s.Current && (len(s.Methods) != 1 || s.Methods[0] != "password") {
			t.Fatalf("the verification's session's methods: %v, want [password]", s.Methods)
		}
	}
	if list := f.listPasskeys(t, token); list[0].LastUsedAt == nil {
		t.Fatalf("last use not recorded: %+v", list)
	}
}

// TestPasskeyRegistrationRefusals: each way a registration answer can be
// wrong is refused with 400 passkey_rejected and stores nothing.
func TestPasskeyRegistrationRefusals(t *testing.T) {
	// A step-up outlasting the challenge, so that an expired challenge is
	// what fails.
	f := newFixtureWith(t, io.Discard, options{stepUpWindow: time.Hour})
	bearer := f.activeAccount(t, testenv.Email(t))
	other := f.activeAccount(t, testenv.Email(t))
	a := passkeystest.New(stack.LocalAppOrigin())
	noUV, bsOnly := byte(passkeystest.FlagUP), byte(passkeystest.FlagUP|passkeystest.FlagUV|passkeystest.FlagBS)

	tests := []struct {
		name   string
		tamper passkeystest.Tamper
		// prepare returns the options to answer (and may use them up).
		prepare func(t *testing.T) []byte
		// finishWith is the session that sends the answer (bearer if "").
		finishWith string
	}{
		{name: "wrong origin", tamper: passkeystest.Tamper{Origin: "https://evil.example"}},
		{name: "another port of localhost", tamper: passkeystest.Tamper{Origin: "http://localhost:8080"}},
		{name: "wrong RP ID hash", tamper: passkeystest.Tamper{RPID: "evil.example"}},
		{name: "assertion type", tamper: passkeystest.Tamper{Type: "webauthn.get"}},
		{name: "no user verification", tamper: passkeystest.Tamper{Flags: &noUV}},
		{name: "backed up but not eligible", tamper: passkeystest.Tamper{Flags: &bsOnly}},
		{name: "a challenge never issued", tamper: passkeystest.Tamper{Challenge: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}},
		{name: "another session's ceremony", finishWith: other},
		{name: "expired challenge", prepare: func(t *testing.T) []byte {
			opts := f.must(t, http.StatusOK, http.MethodPost, "/v1/passkeys/registration/options", "{}", bearer)
			f.clock.Advance(passkeys.DefaultChallengeTTL + time.Second)
			return opts
		}},
		{name: "replayed challenge", prepare: func(t *testing.T) []byte {
			opts := f.must(t, http.StatusOK, http.MethodPost, "/v1/passkeys/registration/options", "{}", bearer)
			cred, c, err := a.Create(opts, 0, passkeystest.Tamper{})
			if err != nil {
				t.Fatal(err)
			}
			f.must(t, http.StatusCreated, http.MethodPost, "/v1/passkeys", registerBody("first", cred), bearer)
			f.stepUpWithPasskey(t, a, c, bearer) // so that only the replay can fail
			return opts
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []byte
			if tt.prepare != nil {
				opts = tt.prepare(t)
			} else {
				opts = f.must(t, http.StatusOK, http.MethodPost, "/v1/passkeys/registration/options", "{}", bearer)
			}
			before := len(f.listPasskeys(t, bearer))
			cred, _, err := a.Create(opts, 0, tt.tamper)
			if err != nil {
				t.Fatal(err)
			}
			who := bearer
			if tt.finishWith != "" {
				who = tt.finishWith
			}
			status, out := f.raw(t, http.MethodPost, "/v1/passkeys", registerBody("x", cred), who)
			if status != http.StatusBadRequest || problemCode(t, out) != "passkey_rejected" {
				t.Fatalf("%d %s, want 400 passkey_rejected", status, out)
			}
			if after := len(f.listPasskeys(t, bearer)); after != before {
				t.Fatalf("%d passkeys, had %d", after, before)
			}
			if len(f.listPasskeys(t, other)) != 0 {
				t.Fatal("the other account got a passkey")
			}
		})
	}
}

// TestPasswordlessLoginRefusals: every way a passwordless answer can be
// wrong gets the same 401 passkey_failed, and no session.
func TestPasswordlessLoginRefusals(t *testing.T) {
	f := newFixture(t, io.Discard)
	bearer := f.activeAccount(t, testenv.Email(t))
	otherBearer := f.activeAccount(t, testenv.Email(t))
	a := passkeystest.New(stack.LocalAppOrigin())
	c, _ := f.addPasskey(t, a, bearer, "mine", 0)
	otherCred, _ := f.addPasskey(t, a, otherBearer, "theirs", 0)
	// An assertion made with the other account's key under this account's handle.
	theirsUnderMine := &passkeystest.Credential{ID: otherCred.ID, Key: otherCred.Key, RPID: "localhost", UserHandle: c.UserHandle}
	// This account's credential id, signed by another key.
	forged := &passkeystest.Credential{ID: c.ID, Key: otherCred.Key, RPID: "localhost", UserHandle: c.UserHandle}
	upOnly := byte(passkeystest.FlagUP)
	uvOnly := byte(passkeystest.FlagUV)

	tests := []struct {
		name    string
		tamper  passkeystest.Tamper
		prepare func(t *testing.T) []byte // the options to answer; fresh ones if nil
	}{
		{name: "wrong origin", tamper: passkeystest.Tamper{Origin: "https://evil.example"}},
		{name: "127.0.0.1 origin", tamper: passkeystest.Tamper{Origin: "http://127.0.0.1:5173"}},
		{name: "wrong RP ID hash", tamper: passkeystest.Tamper{RPID: "evil.example"}},
		{name: "user verification missing", tamper: passkeystest.Tamper{Flags: &upOnly}},
		{name: "user presence missing", tamper: passkeystest.Tamper{Flags: &uvOnly}},
		{name: "registration type", tamper: passkeystest.Tamper{Type: "webauthn.create"}},
		{name: "bad signature", tamper: passkeystest.Tamper{BadSig: true}},
		{name: "another account's credential under this handle", tamper: passkeystest.Tamper{Credential: theirsUnderMine}},
		{name: "this credential id signed by another key", tamper: passkeystest.Tamper{Credential: forged}},
		{name: "a handle of no account", tamper: passkeystest.Tamper{UserHandle: make([]byte, 32)}},
		{name: "a short handle", tamper: passkeystest.Tamper{UserHandle: []byte("me")}},
		{name: "no handle", tamper: passkeystest.Tamper{NoHandle: true}},
		{name: "a challenge never issued", tamper: passkeystest.Tamper{Challenge: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}},
		{name: "expired challenge", prepare: func(t *testing.T) []byte {
			opts := f.must(t, http.StatusOK, http.MethodPost, "/v1/login/passkey/options", "{}", "")
			f.clock.Advance(passkeys.DefaultChallengeTTL + time.Second)
			return opts
		}},
		{name: "replayed challenge", prepare: func(t *testing.T) []byte {
			opts := f.must(t, http.StatusOK, http.MethodPost, "/v1/login/passkey/options", "{}", "")
			cred, err := a.Get(opts, c, passkeystest.Tamper{})
			if err != nil {
				t.Fatal(err)
			}
			f.must(t, http.StatusOK, http.MethodPost, "/v1/login/passkey", credentialBody(cred), "")
			return opts
		}},
		{name: "a registration's challenge", prepare: func(t *testing.T) []byte {
			f.stepUpWithPasskey(t, a, c, bearer)
			return f.must(t, http.StatusOK, http.MethodPost, "/v1/passkeys/registration/options", "{}", bearer)
		}},
	}
	var first []byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []byte
			if tt.prepare != nil {
				opts = tt.prepare(t)
			} else {
				opts = f.must(t, http.StatusOK, http.MethodPost, "/v1/login/passkey/options", "{}", "")
			}
			cred, err := a.Get(opts, c, tt.tamper)
			if err != nil {
				t.Fatal(err)
			}
			status, out := f.raw(t, http.MethodPost, "/v1/login/passkey", credentialBody(cred), "")
			if status != http.StatusUnauthorized || problemCode(t, out) != "passkey_failed" {
				t.Fatalf("%d %s, want 401 passkey_failed", status, out)
			}
			if strings.Contains(string(out), "session") || strings.Contains(string(out), "acct_") {
				t.Fatalf("the refusal says more than it should: %s", out)
			}
			// Every refusal reads the same but for its request id.
			var p map[string]any
			_ = json.Unmarshal(out, &p)
			delete(p, "request_id")
			norm, _ := json.Marshal(p)
			if first == nil {
				first = norm
			} else if !bytes.Equal(first, norm) {
				t.Fatalf("refusals differ: %s vs %s", first, norm)
			}
		})
	}
	// The genuine passkey still works after all that.
	if status, out := f.passwordless(t, a, c, passkeystest.Tamper{}); status != http.StatusOK {
		t.Fatalf("the genuine login: %d %s", status, out)
	}
}

// TestPasskeyChallengeIsSingleUseUnderConcurrency: the same answer sent
// 12 times at once opens one session; the other 11 are refused.
func TestPasskeyChallengeIsSingleUseUnderConcurrency(t *testing.T) {
	f := newFixture(t, io.Discard)
	bearer := f.activeAccount(t, testenv.Email(t))
	a := passkeystest.New(stack.LocalAppOrigin())
	a.CountStep = 0 // a synced passkey: no counter, so only the challenge stops a replay
	c, _ := f.addPasskey(t, a, bearer, "phone", 0)
	opts := f.must(t, http.StatusOK, http.MethodPost, "/v1/login/passkey/options", "{}", "")
	cred, err := a.Get(opts, c, passkeystest.Tamper{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			status, _ := f.raw(t, http.MethodPost, "/v1/login/passkey", credentialBody(cred), "")
			statuses <- status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[http.StatusOK] != 1 || count[http.StatusUnauthorized] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d × 401", count, n-1)
	}
}

// TestPasskeySignCount: a counter that does not increase is refused and
// flagged on the passkey (a clone may exist); the genuine authenticator,
// whose counter moves on, still works; passkeys that keep no counter (0
// every time) work every time.
func TestPasskeySignCount(t *testing.T) {
	f := newFixture(t, io.Discard)
	bearer := f.activeAccount(t, testenv.Email(t))
	a := passkeystest.New(stack.LocalAppOrigin())
	c, _ := f.addPasskey(t, a, bearer, "key", 0)
	for range 3 {
		if status, out := f.passwordless(t, a, c, passkeystest.Tamper{}); status != http.StatusOK {
			t.Fatalf("login: %d %s", status, out)
		}
	}
	if c.SignCount != 3 {
		t.Fatalf("counter %d", c.SignCount)
	}
	tests := []struct {
		name  string
		count uint32
	}{
		{"the same counter again", 3},
		{"a lower counter", 1},
		{"zero after non-zero", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := f.passwordless(t, a, c, passkeystest.Tamper{SignCount: passkeystest.Ptr(tt.count)})
			if status != http.StatusUnauthorized || problemCode(t, out) != "passkey_failed" {
				t.Fatalf("%d %s, want 401", status, out)
			}
			if list := f.listPasskeys(t, bearer); list[0].SignCountRegressedAt == nil {
				t.Fatalf("not flagged: %+v", list[0])
			}
		})
	}
	c.SignCount = 3 // the refused attempts did not move the stored counter
	if status, out := f.passwordless(t, a, c, passkeystest.Tamper{}); status != http.StatusOK {
		t.Fatalf("the genuine authenticator after the refusals: %d %s", status, out)
	}

	synced := passkeystest.New(stack.LocalAppOrigin())
	synced.CountStep = 0
	f.stepUpWithPasskey(t, a, c, bearer) // a second passkey: step up with the first
	s, _ := f.addPasskey(t, synced, bearer, "synced", passkeystest.FlagBE|passkeystest.FlagBS)
	for range 3 {
		if status, out := f.passwordless(t, synced, s, passkeystest.Tamper{}); status != http.StatusOK {
			t.Fatalf("a passkey without a counter: %d %s", status, out)
		}
	}
}

// TestPasskeyRenameAndRemove: rename (validated), remove (the owner
// emailed), another account's passkey is not found, and a removed passkey
// no longer logs in.
func TestPasskeyRenameAndRemove(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	bearer := f.activeAccount(t, email)
	other := f.activeAccount(t, testenv.Email(t))
	a := passkeystest.New(stack.LocalAppOrigin())
	c, id := f.addPasskey(t, a, bearer, "old name", 0)

	renames := []struct {
		name, body string
		want       int
		code       string
	}{
		{"valid", `{"name":"Work laptop ✓"}`, http.StatusOK, ""},
		{"empty", `{"name":""}`, http.StatusBadRequest, "validation_failed"},
		{"too long", `{"name":"` + strings.Repeat("n", passkeys.MaxNameLength+1) + `"}`, http.StatusBadRequest, "validation_failed"},
		{"control character", `{"name":"a\u0007b"}`, http.StatusBadRequest, "validation_failed"},
		{"invisible character", `{"name":"a\u200bb"}`, http.StatusBadRequest, "validation_failed"},
		{"leading space", `{"name":" a"}`, http.StatusBadRequest, "validation_failed"},
		{"unknown field", `{"name":"a","id":"x"}`, http.StatusBadRequest, "validation_failed"},
	}
	for _, tt := range renames {
		t.Run("rename "+tt.name, func(t *testing.T) {
			status, out := f.raw(t, http.MethodPatch, "/v1/passkeys/"+id, tt.body, bearer)
			if status != tt.want || (tt.code != "" && problemCode(t, out) != tt.code) {
				t.Fatalf("%d %s, want %d %s", status, out, tt.want, tt.code)
			}
		})
	}
	if list := f.listPasskeys(t, bearer); list[0].Name != "Work laptop ✓" {
		t.Fatalf("renamed to %q", list[0].Name)
	}
	// Removing a factor needs a step-up with a second factor: the session's
	// password is not enough once the account has a passkey.
	if status, out := f.raw(t, http.MethodDelete, "/v1/passkeys/"+id, "", bearer); status != http.StatusForbidden || problemCode(t, out) != "step_up_required" {
		t.Fatalf("removal without a step-up: %d %s", status, out)
	}
	f.stepUpWithPasskey(t, a, c, bearer)
	for _, path := range []string{"/v1/passkeys/" + id, "/v1/passkeys/pkey_aaaaaaaaaaaaaaaaaaaaaaaaaa", "/v1/passkeys/nonsense"} {
		for _, m := range []string{http.MethodPatch, http.MethodDelete} {
			who, body := other, `{"name":"mine now"}`
			if path != "/v1/passkeys/"+id {
				who = bearer
			}
			if m == http.MethodDelete {
				body = ""
			}
			if status, out := f.raw(t, m, path, body, who); status != http.StatusNotFound || problemCode(t, out) != "passkey_not_found" {
				t.Fatalf("%s %s by the wrong account: %d %s", m, path, status, out)
			}
		}
	}
	f.must(t, http.StatusNoContent, http.MethodDelete, "/v1/passkeys/"+id, "", bearer)
	if m := testenv.WaitForMails(t, email, 2)[0]; !strings.Contains(m.Subject, "passkey was removed") {
		t.Fatalf("mail %q", m.Subject)
	}
	f.must(t, http.StatusNotFound, http.MethodDelete, "/v1/passkeys/"+id, "", bearer)
	if list := f.listPasskeys(t, bearer); len(list) != 0 {
		t.Fatalf("still listed: %+v", list)
	}
	if status, out := f.passwordless(t, a, c, passkeystest.Tamper{}); status != http.StatusUnauthorized {
		t.Fatalf("a removed passkey logged in: %d %s", status, out)
	}
	// Its slot is free again.
	f.addPasskey(t, a, bearer, "new", 0)
}

// TestPasskeyRoutesNeedASession: the account's routes refuse a request
// without a session; the passwordless ones need none.
func TestPasskeyRoutesNeedASession(t *testing.T) {
	f := newFixture(t, io.Discard)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/passkeys/registration/options", "{}"},
		{http.MethodPost, "/v1/passkeys", `{"name":"x","credential":{}}`},
		{http.MethodGet, "/v1/passkeys", ""},
		{http.MethodPatch, "/v1/passkeys/pkey_aaaaaaaaaaaaaaaaaaaaaaaaaa", `{"name":"x"}`},
		{http.MethodDelete, "/v1/passkeys/pkey_aaaaaaaaaaaaaaaaaaaaaaaaaa", ""},
	} {
		if status, _ := f.raw(t, r.method, r.path, r.body, ""); status != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %d", r.method, r.path, status)
		}
	}
	f.must(t, http.StatusOK, http.MethodPost, "/v1/login/passkey/options", "{}", "")
}

// TestPasskeyLoginOfAnAccountBeingDeleted: once a deletion is accepted, a
// passkey opens nothing.
func TestPasskeyLoginOfAnAccountBeingDeleted(t *testing.T) {
	f := newFixture(t, io.Discard)
	bearer := f.activeAccount(t, testenv.Email(t))
	a := passkeystest.New(stack.LocalAppOrigin())
	c, _ := f.addPasskey(t, a, bearer, "key", 0)
	f.stepUpWithPasskey(t, a, c, bearer)
	f.must(t, http.StatusAccepted, http.MethodDelete, "/v1/account", `{"password":"`+strong+`"}`, bearer)
	if status, out := f.passwordless(t, a, c, passkeystest.Tamper{}); status != http.StatusUnauthorized || problemCode(t, out) != "passkey_failed" {
		t.Fatalf("%d %s", status, out)
	}
}

// loginMFA logs in with the password, which must end in a second-factor
// challenge, and returns its mfa_token and methods.
func (f *fixture) loginMFA(t testing.TB, email string) (string, []any) {
	t.Helper()
	status, _, out := f.call(t, http.MethodPost, "/v1/login", creds(email, strong), "", "")
	token, _ := out["mfa_token"].(string)
	methods, _ := out["methods"].([]any)
	if status != http.StatusOK || token == "" {
		t.Fatalf("password login of an account with a passkey: %d %v, want a second-factor challenge", status, out)
	}
	return token, methods
}

func mfaBody(token, method string, credential []byte) string {
	b, _ := json.Marshal(map[string]any{"mfa_token": token, "method": method, "credential": json.RawMessage(credential)})
	return string(b)
}

// TestPasskeyAsSecondFactor: once an account has a passkey, a right
// password gets a challenge instead of a session; the passkey finishes it
// (a session made by the password and the passkey); a wrong or replayed
// assertion does not, and counts under the second factor's brake; the
// options need a live mfa_token.
func TestPasskeyAsSecondFactor(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	bearer := f.activeAccount(t, email)
	otherBearer := f.activeAccount(t, testenv.Email(t))
	a := passkeystest.New(stack.LocalAppOrigin())
	c, _ := f.addPasskey(t, a, bearer, "key", 0)
	theirs, _ := f.addPasskey(t, a, otherBearer, "theirs", 0)

	token, methods := f.loginMFA(t, email)
	if len(methods) != 1 || methods[0] != "passkey" {
		t.Fatalf("methods %v, want [passkey]", methods)
	}
	for _, bad := range []string{`{"mfa_token":"acct_x.mfac_y.z"}`, `{"mfa_token":""}`} {
		if status, out := f.raw(t, http.MethodPost, "/v1/login/mfa/passkey/options", bad, ""); status < 400 || status >= 500 {
			t.Fatalf("options for %s: %d %s", bad, status, out)
		}
	}
	optsFor := func(token string) []byte {
		return f.must(t, http.StatusOK, http.MethodPost, "/v1/login/mfa/passkey/options", `{"mfa_token":"`+token+`"}`, "")
	}
	upOnly := byte(passkeystest.FlagUP)
	refusals := []struct {
		name   string
		tamper passkeystest.Tamper
	}{
		{"another account's passkey", passkeystest.Tamper{Credential: theirs}},
		{"wrong origin", passkeystest.Tamper{Origin: "https://evil.example"}},
		{"wrong RP ID hash", passkeystest.Tamper{RPID: "evil.example"}},
		{"no user verification", passkeystest.Tamper{Flags: &upOnly}},
		{"bad signature", passkeystest.Tamper{BadSig: true}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			cred, err := a.Get(optsFor(token), c, tt.tamper)
			if err != nil {
				t.Fatal(err)
			}
			status, out := f.raw(t, http.MethodPost, "/v1/login/mfa", mfaBody(token, "passkey", cred), "")
			if status != http.StatusUnauthorized || problemCode(t, out) != "invalid_second_factor" {
				t.Fatalf("%d %s, want 401 invalid_second_factor", status, out)
			}
		})
	}

	f.clock.Advance(2 * time.Second) // past the delay the five failures earned
	opts := optsFor(token)
	cred, err := a.Get(opts, c, passkeystest.Tamper{})
	if err != nil {
		t.Fatal(err)
	}
	status, _, login := f.call(t, http.MethodPost, "/v1/login/mfa", mfaBody(token, "passkey", cred), "", "")
	if status != http.StatusOK {
		t.Fatalf("second factor: %d %v", status, login)
	}
	sess, _ := login["session"].(map[string]any)
	sessToken, _ := sess["token"].(string)
	var list struct {
		Sessions []struct {
			Current bool     `json:"current"`
			AMR     []string `json:"amr"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(f.must(t, http.StatusOK, http.MethodGet, "/v1/sessions", "", sessToken), &list); err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Sessions {
		if s.Current && strings.Join(s.AMR, ",") != "password,passkey" {
			t.Fatalf("amr %v, want [password passkey]", s.AMR)
		}
	}

	// The same assertion again, with a new challenge of the password: its
	// passkey challenge is used.
	token2, _ := f.loginMFA(t, email)
	if status, out := f.raw(t, http.MethodPost, "/v1/login/mfa", mfaBody(token2, "passkey", cred), ""); status != http.StatusUnauthorized {
		t.Fatalf("a replayed assertion: %d %s", status, out)
	}
	// A passwordless login's options cannot answer a second factor.
	lo := f.must(t, http.StatusOK, http.MethodPost, "/v1/login/passkey/options", "{}", "")
	cred3, err := a.Get(lo, c, passkeystest.Tamper{})
	if err != nil {
		t.Fatal(err)
	}
	if status, out := f.raw(t, http.MethodPost, "/v1/login/mfa", mfaBody(token2, "passkey", cred3), ""); status != http.StatusUnauthorized {
		t.Fatalf("a passwordless challenge as second factor: %d %s", status, out)
	}
	// Every refusal above was counted as a wrong second factor.
	var failures struct {
		Count int `dynamodbav:"failures"`
	}
	if _, err := f.store.Get(t.Context(), mfa.FailuresKey(identity.AccountPartition(pwAccountID(bearer))), &failures); err != nil {
		t.Fatal(err)
	}
	if failures.Count != 2 { // the success cleared the five before it
		t.Fatalf("%d failures counted since the success, want 2", failures.Count)
	}
}
