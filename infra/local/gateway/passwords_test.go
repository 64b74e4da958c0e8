package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// TestPasswordAndSessionFlows runs reset, change and session management
// through the whole local API, so that the package's log check covers them.
func TestPasswordAndSessionFlows(t *testing.T) {
	email, pass := newAddress(t), strongPassword(t)
	first, _ := signUpAndVerify(t, email, pass)

	r := do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": pass}})
	second := r.str("session", "token")
	remember(second)

	r = do(t, request{method: "GET", path: "/v1/sessions", header: bearer(second)})
	list, _ := r.JSON["sessions"].([]any)
	if r.Status != http.StatusOK || len(list) != 2 || strings.Contains(string(r.Raw), first) || strings.Contains(string(r.Raw), second) {
		t.Fatalf("sessions: %d %s", r.Status, r.Raw)
	}
	var firstID string
	for _, s := range list {
		if m := s.(map[string]any); m["current"] == false {
			firstID = m["id"].(string)
		}
	}
	if r := do(t, request{method: "DELETE", path: "/v1/sessions/" + firstID, header: bearer(second)}); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	wantProblem(t, do(t, request{method: "GET", path: "/v1/account", header: bearer(first)}), http.StatusUnauthorized, "unauthenticated")

	// Change: the calling session survives.
	next := strongPassword(t)
	r = do(t, request{method: "POST", path: "/v1/password/change", header: bearer(second),
		body: map[string]string{"current_password": pass, "new_password": next}})
	if r.Status != http.StatusNoContent {
		t.Fatalf("change: %d %s", r.Status, r.Raw)
	}
	if r := do(t, request{method: "GET", path: "/v1/account", header: bearer(second)}); r.Status != http.StatusOK {
		t.Fatalf("calling session after change: %d", r.Status)
	}

	// Forgot and reset: every session ends, the newest password works.
	if r := do(t, request{method: "POST", path: "/v1/password/forgot", body: map[string]string{"email": email}}); r.Status != http.StatusAccepted {
		t.Fatalf("forgot: %d %s", r.Status, r.Raw)
	}
	var resetMail testenv.Mail
	for _, m := range testenv.WaitForMails(t, email, 3) {
		if m.Subject == "Reset your Atrium password" {
			resetMail = m
		}
	}
	token := testenv.LinkToken(t, resetMail)
	remember(token)
	final := strongPassword(t)
	r = do(t, request{method: "POST", path: "/v1/password/reset", body: map[string]string{"token": token, "new_password": final}})
	if r.Status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", r.Status, r.Raw)
	}
	wantProblem(t, do(t, request{method: "GET", path: "/v1/account", header: bearer(second)}), http.StatusUnauthorized, "unauthenticated")
	wantProblem(t, do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": next}}),
		http.StatusUnauthorized, "invalid_credentials")
	r = do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": final}})
	if r.Status != http.StatusOK {
		t.Fatalf("login with the reset password: %d %s", r.Status, r.Raw)
	}
	remember(r.str("session", "token"))
	changed := 0
	for _, m := range testenv.Mails(t, email) {
		if m.Subject == "Your Atrium password was changed" {
			changed++
		}
	}
	if changed != 2 {
		t.Fatalf("%d password-changed emails, want 2 (change and reset)", changed)
	}
}
