package sourcesapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys/ceremony"
	"github.com/atrium-cdn/atrium/shared/passkeys/passkeystest"
)

// TestChangingKeysNeedsAFreshStepUp: PUT …/credentials reads the step-up
// the auth function records on the session item: within the window after
// the login (or a step-up) it works; after it, 403 step_up_required and
// nothing changes; a step-up recorded on the session makes it work again.
func TestChangingKeysNeedsAFreshStepUp(t *testing.T) {
	f := newFixture(t, Limits{Standard: 3, Premium: 3})
	_, token := f.account(t, "standard")
	created := f.do(t, http.MethodPost, "/v1/sources", token, f.createBody("stepup", readerKey, f.secret(), nil)).want(t, http.StatusCreated, "")
	id, _ := created.source(t)["id"].(string)
	put := func() response {
		return f.do(t, http.MethodPut, "/v1/sources/"+id+"/credentials", token,
			map[string]string{"access_key_id": readerKey2, "secret_access_key": f.secret()})
	}
	for _, tc := range []struct {
		name    string
		advance time.Duration
		stepUp  bool
		status  int
	}{
		{"just after login", 0, false, http.StatusOK},
		{"at the window's end", mfa.DefaultStepUpWindow - time.Second, false, http.StatusOK},
		{"past the window", 2 * time.Second, false, http.StatusForbidden},
		{"after a step-up", 0, true, http.StatusOK},
		{"past the step-up's window", mfa.DefaultStepUpWindow + time.Second, false, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(tc.advance)
			if tc.stepUp {
				sess, err := f.accounts.Authenticate(context.Background(), token, f.auth.Policy())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.accounts.RecordProof(context.Background(), sess, []string{identity.MethodPassword}); err != nil {
					t.Fatal(err)
				}
			}
			code := ""
			if tc.status == http.StatusForbidden {
				code = "step_up_required"
			}
			put().want(t, tc.status, code)
		})
	}
}

// TestPasskeyOnlyAccountNeedsAFactorStepUp: the sources function's step-up
// rule sees every kind of second factor (passkeys.NewStepUp, as New builds
// it): for an account whose only factor is a passkey, a fresh session
// proven by the password alone may not create a source, change a source's
// keys, or delete one (403 step_up_required); a step-up with the passkey
// lets it.
func TestPasskeyOnlyAccountNeedsAFactorStepUp(t *testing.T) {
	f := newFixture(t, Limits{Standard: 3, Premium: 3})
	acct, token := f.account(t, "standard")
	created := f.do(t, http.MethodPost, "/v1/sources", token, f.createBody("passkey", readerKey, f.secret(), nil)).want(t, http.StatusCreated, "")
	id, _ := created.source(t)["id"].(string)
	// The account gets a passkey (through its ceremony, as the auth function registers one).
	svc, err := ceremony.New(f.rawDB, f.stack.Tables["StateTable"], f.clock.Now,
		ceremony.Config{RPID: stack.LocalPasskeyRPID, Origins: []string{stack.LocalAppOrigin()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	owner := ceremony.Account{ID: acct, Email: "owner@example.com"}
	opts, err := svc.BeginRegistration(ctx, owner, "ses_owner")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(opts)
	cred, _, err := passkeystest.New(stack.LocalAppOrigin()).Create(raw, 0, passkeystest.Tamper{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FinishRegistration(ctx, owner, "ses_owner", "key", cred); err != nil {
		t.Fatal(err)
	}
	// The session's proof is its login (the password), seconds old.
	f.do(t, http.MethodPut, "/v1/sources/"+id+"/credentials", token,
		map[string]string{"access_key_id": readerKey2, "secret_access_key": f.secret()}).want(t, http.StatusForbidden, "step_up_required")
	f.do(t, http.MethodPost, "/v1/sources", token, f.createBody("another", readerKey, f.secret(), nil)).want(t, http.StatusForbidden, "step_up_required")
	f.do(t, http.MethodDelete, "/v1/sources/"+id, token, nil).want(t, http.StatusForbidden, "step_up_required")
	// A step-up with the passkey (as the auth function records it).
	sess, err := f.accounts.Authenticate(ctx, token, f.auth.Policy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.accounts.RecordProof(ctx, sess, []string{mfa.MethodPasskey}); err != nil {
		t.Fatal(err)
	}
	f.do(t, http.MethodPut, "/v1/sources/"+id+"/credentials", token,
		map[string]string{"access_key_id": readerKey2, "secret_access_key": f.secret()}).want(t, http.StatusOK, "")
	f.do(t, http.MethodDelete, "/v1/sources/"+id, token, nil).want(t, http.StatusNoContent, "")
}

// TestCreatingAndDeletingNeedAFreshStepUp: a stale session (no proof
// within the window) can neither create a source (new keys) nor delete
// one (which, followed by a creation, would replace its keys): 403
// step_up_required, nothing changed.
func TestCreatingAndDeletingNeedAFreshStepUp(t *testing.T) {
	f := newFixture(t, Limits{Standard: 3, Premium: 3})
	_, token := f.account(t, "standard")
	created := f.do(t, http.MethodPost, "/v1/sources", token, f.createBody("stale", readerKey, f.secret(), nil)).want(t, http.StatusCreated, "")
	id, _ := created.source(t)["id"].(string)
	f.clock.Advance(mfa.DefaultStepUpWindow + time.Second)
	f.do(t, http.MethodPost, "/v1/sources", token, f.createBody("stale2", readerKey, f.secret(), nil)).want(t, http.StatusForbidden, "step_up_required")
	f.do(t, http.MethodDelete, "/v1/sources/"+id, token, nil).want(t, http.StatusForbidden, "step_up_required")
	f.do(t, http.MethodGet, "/v1/sources/"+id, token, nil).want(t, http.StatusOK, "")
}

// stepUp records a fresh proof (the password) on the session, as the auth
// function's POST /v1/session/step-up does.
func (f *fixture) stepUp(t testing.TB, token string) {
	t.Helper()
	sess, err := f.accounts.Authenticate(context.Background(), token, f.auth.Policy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.accounts.RecordProof(context.Background(), sess, []string{identity.MethodPassword}); err != nil {
		t.Fatal(err)
	}
}
