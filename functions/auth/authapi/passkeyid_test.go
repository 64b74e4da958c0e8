package authapi

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/passkeys/passkeystest"
)

// TestCredentialIDIsRegisteredOnceAcrossAccounts: a credential id is
// registrable once across all accounts (WebAuthn §7.1 step 26), by the
// global index item the registration's transaction writes: another
// account's registration of a passkey's credential id is refused (400
// passkey_rejected), and of two accounts registering one new id at once,
// exactly one succeeds. Removing the passkey frees its id.
func TestCredentialIDIsRegisteredOnceAcrossAccounts(t *testing.T) {
	f := newFixture(t, io.Discard)
	a := passkeystest.New(stack.LocalAppOrigin())
	victim := f.activeAccount(t, testenv.Email(t))
	attacker := f.activeAccount(t, testenv.Email(t))
	vc, vid := f.addPasskey(t, a, victim, "victim", 0)
	register := func(bearer string, id []byte) (int, []byte) {
		opts := f.must(t, http.StatusOK, http.MethodPost, "/v1/passkeys/registration/options", "{}", bearer)
		cred, _, err := a.CreateWithID(opts, id)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		return f.raw(t, http.MethodPost, "/v1/passkeys", registerBody("same id", cred), bearer)
	}
	if st, body := register(attacker, vc.ID); st != http.StatusBadRequest || !bytesHas(body, "passkey_rejected") {
		t.Fatalf("another account registers the victim's credential id: %d %s", st, body)
	}
	if list := f.listPasskeys(t, attacker); len(list) != 0 {
		t.Fatalf("the attacker's passkeys: %+v", list)
	}
	// Concurrently: pairs of accounts register one new id at once.
	for round := range 4 {
		x, y := f.activeAccount(t, testenv.Email(t)), f.activeAccount(t, testenv.Email(t))
		id := []byte(ids.Secret())
		var wg sync.WaitGroup
		got := map[int]int{}
		var mu sync.Mutex
		for _, b := range []string{x, y} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _ := register(b, id)
				mu.Lock()
				got[st]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if got[http.StatusCreated] != 1 || got[http.StatusBadRequest] != 1 {
			t.Fatalf("round %d: two accounts registering one credential id at once: %v, want one 201 and one 400", round, got)
		}
	}
	// Removing the passkey (after a step-up with it) frees its id.
	f.stepUpWithPasskey(t, a, vc, victim)
	f.must(t, http.StatusNoContent, http.MethodDelete, "/v1/passkeys/"+vid, "", victim)
	if st, body := register(attacker, vc.ID); st != http.StatusCreated {
		t.Fatalf("the id after its passkey's removal: %d %s", st, body)
	}
}

func bytesHas(b []byte, s string) bool { return strings.Contains(string(b), s) }
