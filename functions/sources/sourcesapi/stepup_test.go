package sourcesapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mfa"
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
