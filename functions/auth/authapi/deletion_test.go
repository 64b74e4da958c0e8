package authapi

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

func TestDeleteAccountChecksThePasswordThenEndsEverythingAtOnce(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	first := f.activeAccount(t, email)
	second := f.pwMustLogin(t, email, strong)
	f.mail.reset()

	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"no password", `{}`, http.StatusBadRequest, "validation_failed"},
		{"unknown field", `{"password":"x","confirm":true}`, http.StatusBadRequest, "validation_failed"},
		{"wrong password", `{"password":"not-the-password-at-all-0"}`, http.StatusForbidden, "wrong_password"},
	} {
		status, _, out := f.call(t, http.MethodDelete, "/v1/account", tc.body, "", first)
		if status != tc.status || out["code"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, out, tc.status, tc.code)
		}
	}
	if status, _, _ := f.call(t, http.MethodDelete, "/v1/account", `{"password":"`+strong+`"}`, "", ""); status != http.StatusUnauthorized {
		t.Errorf("without a session: %d", status)
	}
	if !f.pwSessionWorks(t, first) || !f.pwSessionWorks(t, second) {
		t.Fatal("a refused deletion ended a session")
	}
	if n := f.mail.reset(); n != 0 {
		t.Errorf("refused deletions sent %d emails", n)
	}

	status, _, out := f.call(t, http.MethodDelete, "/v1/account", `{"password":"`+strong+`"}`, "", first)
	if status != http.StatusAccepted {
		t.Fatalf("delete: %d %v", status, out)
	}
	del, _ := out["deletion"].(map[string]any)
	id, _ := del["id"].(string)
	if !strings.HasPrefix(id, "del_") || del["status"] != "accepted" || del["status_url"] != "/v1/account/deletion/"+id {
		t.Fatalf("deletion %v", del)
	}
	// At once: no session, no login, no email but the confirmation.
	if f.pwSessionWorks(t, first) || f.pwSessionWorks(t, second) {
		t.Error("a session still works after the deletion was accepted")
	}
	f.pwWantLogin(t, "login after deletion", email, strong, http.StatusUnauthorized, "invalid_credentials")
	if s := f.post(t, "/v1/signup", signupBody(email)); s != http.StatusAccepted {
		t.Errorf("signup during deletion: %d", s)
	}
	if s := f.post(t, "/v1/password/forgot", `{"email":"`+email+`"}`); s != http.StatusAccepted {
		t.Errorf("forgot during deletion: %d", s)
	}
	if n := f.mail.reset(); n != 1 {
		t.Errorf("%d emails after the deletion was accepted, want only the confirmation", n)
	}
	mails := testenv.WaitForMails(t, email, 2) // the verification link, then the confirmation; newest first
	if len(mails) != 2 || !strings.Contains(mails[0].Subject, "being deleted") || !strings.Contains(mails[0].Text, id) {
		t.Errorf("%d emails; the last is %q", len(mails), mails[0].Subject)
	}
}

func TestDeleteAccountTwiceAtOnceIsOneDeletion(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	tokens := []string{f.activeAccount(t, email), f.pwMustLogin(t, email, strong), f.pwMustLogin(t, email, strong)}
	f.mail.reset()
	var wg sync.WaitGroup
	ids := make([]string, len(tokens))
	statuses := make([]int, len(tokens))
	for i, tok := range tokens {
		wg.Go(func() {
			status, _, out := f.call(t, http.MethodDelete, "/v1/account", `{"password":"`+strong+`"}`, "", tok)
			statuses[i] = status
			if del, ok := out["deletion"].(map[string]any); ok {
				ids[i], _ = del["id"].(string)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, s := range statuses {
		switch s {
		case http.StatusAccepted:
			seen[ids[i]] = true
		case http.StatusUnauthorized: // its session ended before it was checked
		default:
			t.Errorf("answer %d", s)
		}
	}
	if len(seen) != 1 {
		t.Errorf("deletions %v from answers %v", seen, statuses)
	}
	if n := f.mail.reset(); n != 1 {
		t.Errorf("%d confirmation emails", n)
	}
}
