package browsertest

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestDashboard runs every flow of the dashboard in the one browser.
func TestDashboard(t *testing.T) {
	t.Run("SignupVerifyLogin", signupVerifyLogin)
	t.Run("ForgotReset", forgotReset)
	t.Run("Settings", settingsFlow)
}

// (a) sign up, confirm from the email's link choosing the password, log out, log in.
func signupVerifyLogin(t *testing.T) {
	b := newTab(t)
	e := b.e
	email, password := "new."+strings.ToLower(newPassword()[:13])+"@example.com", newPassword()
	b.open("/signup", "/signup")
	b.checkLabels()
	b.fill("#signup input[name=email]", email)
	b.click("#signup-submit")
	b.waitText("#signup-sent", "Check your inbox")

	link := mailLink(t, e, email, "/verify-email#token=")
	b.open(link, "/verify-email")
	if loc := eval[string](b, "location.href"); strings.Contains(loc, "token") {
		t.Errorf("the token stayed in the address bar: %s", loc)
	}
	b.checkLabels()
	b.fill("#verify input[name=password]", password)
	b.fill("#verify input[name=confirm]", password)
	b.click("#verify-submit")
	b.waitPage("/account")
	if got := b.text("#account-email"); got != email {
		t.Fatalf("account page shows %q, want %q", got, email)
	}

	b.click("#logout")
	b.waitPage("/login")
	if r := e.call(t, "GET", "/v1/account", nil, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", r.status)
	}
	// A wrong password shows the human message of invalid_credentials.
	b.fill("#login input[name=email]", email)
	b.fill("#login input[name=password]", password+"x")
	b.click("#login-submit")
	b.waitText("#login-error", "The email address or password is wrong")
	b.fill("#login input[name=password]", password)
	b.click("#login-submit")
	b.waitPage("/account")
	b.waitText("#account-email", email)
}

// loginAs logs in through the dashboard's form and waits for the account page.
func (b *tab) loginAs(email, password string) {
	b.t.Helper()
	b.open("/login", "/login")
	b.fill("#login input[name=email]", email)
	b.fill("#login input[name=password]", password)
	b.click("#login-submit")
	b.waitPage("/account")
}

// (b) forgot the password, reset it from the email's link, log in with the new one.
func forgotReset(t *testing.T) {
	b := newTab(t)
	e := b.e
	email, old := e.account(t)
	b.open("/login", "/login")
	b.click(`a[href="/forgot-password"]`)
	b.waitPage("/forgot-password")
	b.checkLabels()
	b.fill("#forgot input[name=email]", email)
	b.click("#forgot-submit")
	b.waitText("#forgot-sent", "we sent it a link")

	link := mailLink(t, e, email, "/reset-password#token=")
	b.open(link, "/reset-password")
	b.checkLabels()
	password := newPassword()
	// Two different passwords are refused before anything is sent.
	b.fill("#reset input[name=password]", password)
	b.fill("#reset input[name=confirm]", password+"!")
	b.click("#reset-submit")
	b.waitText("#reset-error", "The two passwords differ")
	b.fill("#reset input[name=confirm]", password)
	b.click("#reset-submit")
	b.waitText("#reset-done", "Your password is changed")
	b.click(`#reset-done a[href="/login"]`)
	b.waitPage("/login")
	if r := e.call(t, "POST", "/v1/login", map[string]string{"email": email, "password": old}, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("the old password still logs in: %d", r.status)
	}
	b.loginAs(email, password)
	b.waitText("#account-email", email)

	// The link is single-use: opened again, it shows invalid_token's message.
	b.open(link, "/reset-password")
	b.fill("#reset input[name=password]", password+"2")
	b.fill("#reset input[name=confirm]", password+"2")
	b.click("#reset-submit")
	b.waitText("#reset-error", "This link is unknown, expired or already used")
}

// (c) password change, sessions list and sign-out, Delete Account and its receipt.
func settingsFlow(t *testing.T) {
	b := newTab(t)
	e := b.e
	email, password := e.account(t)
	b.loginAs(email, password)
	other := e.login(t, email, password) // another device's session

	b.click(`nav a[href="/settings"]`)
	b.waitPage("/settings")
	b.checkLabels()
	b.fill("#password-change input[name=current]", password+"-wrong")
	newPw := newPassword()
	b.fill("#password-change input[name=password]", newPw)
	b.fill("#password-change input[name=confirm]", newPw)
	b.click("#password-change-submit")
	b.waitText("#password-change-error", "The password you entered is wrong")
	b.fill("#password-change input[name=current]", password)
	b.fill("#password-change input[name=password]", newPw)
	b.fill("#password-change input[name=confirm]", newPw)
	b.click("#password-change-submit")
	b.waitText("#password-change-notice", "Your password is changed")
	if r := e.call(t, "GET", "/v1/account", nil, bearer(other)); r.status != http.StatusUnauthorized {
		t.Fatalf("the other session survived the password change: %d", r.status)
	}
	password = newPw

	// Sessions: two others; sign one out by its button, then all others.
	other1, other2 := e.login(t, email, password), e.login(t, email, password)
	b.click(`a[href="/settings/sessions"]`)
	b.waitPage("/settings/sessions")
	b.checkLabels()
	rows := "document.querySelectorAll('#sessions tbody tr').length"
	b.waitFor("3 sessions", rows+" === 3")
	b.click("#sessions tbody tr button")
	b.waitFor("2 sessions", rows+" === 2")
	b.waitText("#sessions-status", "The session was signed out")
	alive := 0
	for _, tok := range []string{other1, other2} {
		if e.call(t, "GET", "/v1/account", nil, bearer(tok)).status == http.StatusOK {
			alive++
		}
	}
	if alive != 1 {
		t.Fatalf("%d of the 2 other sessions alive after signing one out", alive)
	}
	b.click("#sessions-others")
	b.waitFor("1 session", rows+" === 1")
	b.waitText("#sessions tbody", "This session")
	for _, tok := range []string{other1, other2} {
		if r := e.call(t, "GET", "/v1/account", nil, bearer(tok)); r.status != http.StatusUnauthorized {
			t.Fatalf("another session survived 'sign out all other sessions': %d", r.status)
		}
	}

	// Delete Account: the box must be ticked, the password right.
	b.open("/settings", "/settings")
	b.fill("#delete-account input[name=password]", password)
	b.click("#delete-account-submit")
	b.waitText("#delete-account-error", "Tick the box")
	b.click("#delete-account input[name=understood]")
	b.fill("#delete-account input[name=password]", password+"-wrong")
	b.click("#delete-account-submit")
	b.waitText("#delete-account-error", "The password you entered is wrong")
	b.fill("#delete-account input[name=password]", password)
	b.click("#delete-account-submit")
	b.waitPage("/account-deleted")
	b.waitFor("the deletion to finish", "document.querySelector('#deletion-status')?.dataset.status === 'done'")
	b.waitText("#deletion-status", "Your account is deleted")
	deletionID := b.text("#deletion-id")
	if digest := b.text("#deletion-digest"); !strings.HasPrefix(deletionID, "del_") || !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
		t.Fatalf("receipt: id %q digest %q", deletionID, b.text("#deletion-digest"))
	}
	if r := e.call(t, "POST", "/v1/login", map[string]string{"email": email, "password": password}, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("login after deletion: %d", r.status)
	}
	// The email's link opens the same receipt.
	link := mailLink(t, e, email, "/account-deleted#deletion=")
	if !strings.HasSuffix(link, deletionID) {
		t.Fatalf("the deletion email links to %s, not deletion %s", link, deletionID)
	}
	b.open(link, "/account-deleted")
	b.waitFor("the receipt", "document.querySelector('#deletion-status')?.dataset.status === 'done'")
}
