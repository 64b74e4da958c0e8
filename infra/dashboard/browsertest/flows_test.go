package browsertest

import (
	"net/http"
	"strings"
	"testing"
)

// TestDashboard runs every flow of the dashboard in the one browser.
func TestDashboard(t *testing.T) {
	t.Run("SignupVerifyLogin", signupVerifyLogin)
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
