package browsertest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-cdn/atrium/infra/local/fakes3"
)

// TestDashboard runs every flow of the dashboard in the one browser.
func TestDashboard(t *testing.T) {
	t.Run("SignupVerifyLogin", signupVerifyLogin)
	t.Run("ForgotReset", forgotReset)
	t.Run("Settings", settingsFlow)
	t.Run("Sources", sourcesFlow)
	t.Run("BillingLogsExport", billingLogsExport)
	t.Run("Compliance", complianceFlow)
	t.Run("DMCA", dmcaFlow)
	t.Run("RetryAfter", retryAfter)
	t.Run("Keyboard", keyboardLogin)
	t.Run("CORS", corsFlow)
	t.Run("Bearer", bearerFlow)
	t.Run("TOTP", totpFlow)
	t.Run("Passkeys", passkeyFlow)
	t.Run("FirstLoad", firstLoad)
	t.Run("Screenshots", screenshots)
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
	// Set-up 1: the session is the API's HttpOnly cookie (what bearerFlow
	// proves absent in set-up 2).
	if got := strings.Join(b.cookies(), " "); !strings.HasPrefix(got, "__Host-atrium_session (localhost/)") {
		t.Errorf("cookie mode stored %q, want the session cookie", got)
	}
}

// loginAs logs in through the dashboard's form and waits for the account page.
func (b *tab) loginAs(email, password string) {
	b.t.Helper()
	b.loginAt(b.e.appURL, email, password)
}

// loginAt logs in through the form of the dashboard at base (its origin).
func (b *tab) loginAt(base, email, password string) {
	b.t.Helper()
	b.open(base+"/login", "/login")
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

// (d) sources: register with the read-only advice and the policy, rename,
// rotate the keys, delete; a name that is markup shows as text and runs nothing.
func sourcesFlow(t *testing.T) {
	b := newTab(t)
	e := b.e
	email, password := e.account(t)
	bucket := fakes3.New()
	if err := bucket.CreateBucket("photos"); err != nil {
		t.Fatal(err)
	}
	bucket.Grant("AKIABROWSERTEST00001", "photos")
	bucket.Grant("AKIABROWSERTEST00002", "photos")
	s3 := httptest.NewServer(bucket)
	t.Cleanup(s3.Close)

	b.loginAs(email, password)
	b.click(`nav a[href="/sources"]`)
	b.waitPage("/sources")
	b.waitText("#sources", "No sources yet")
	b.checkLabels()
	b.waitText("#read-only-recommendation", "read-only keys")
	const xss = `<img src=x onerror=alert(1)>`
	b.fill("#source-register input[name=name]", xss)
	b.do("choose the type", chromedp.SetValue(chromedp.CSS("#source-register select[name=type]"), "s3_compatible"))
	b.fill("#source-register input[name=bucket]", "photos")
	b.fill("#source-register input[name=prefix]", "images/")
	b.waitText("#iam-policy", `"Resource": "arn:aws:s3:::photos/images/*"`)
	b.waitText("#iam-policy", `"s3:prefix": [`)
	b.fill("#source-register input[name=endpoint]", s3.URL)
	b.fill("#source-register input[name=access_key_id]", "AKIABROWSERTEST00001")
	b.fill("#source-register input[name=secret_access_key]", "browser-test-secret-1")
	b.click("#source-register-submit")
	b.waitText("#source-register-notice", "Registered")
	b.waitText("#source-register-notice", "only read")

	// The markup is text: the heading says it verbatim, no element was made, no dialog opened.
	if got := b.text("#sources .source-name"); got != xss {
		t.Fatalf("the source's name shows as %q, want the text %q", got, xss)
	}
	if n := eval[int](b, "document.querySelectorAll('main img, main [onerror]').length"); n != 0 {
		t.Fatalf("the source's name made %d elements", n)
	}
	if !strings.Contains(b.text("#source-register-notice"), xss) {
		t.Fatalf("the notice does not show the name as text: %q", b.text("#source-register-notice"))
	}

	b.click(`#sources [data-action=rename]`)
	b.fill(`#sources form[id^=rename-] input[name=name]`, "product photos")
	b.click(`#sources form[id^=rename-] button[type=submit]`)
	b.waitText("#sources-status", "renamed")
	b.waitText("#sources .source-name", "product photos")

	b.click(`#sources [data-action=rotate]`)
	b.fill(`#sources form[id^=rotate-] input[name=access_key_id]`, "AKIABROWSERTEST00002")
	b.fill(`#sources form[id^=rotate-] input[name=secret_access_key]`, "browser-test-secret-2")
	b.click(`#sources form[id^=rotate-] button[type=submit]`)
	b.waitText("#sources-status", "The keys were replaced")
	b.waitText("#sources", "…0002")

	// Keys that cannot read: source_unreachable's message, nothing changes.
	b.click(`#sources [data-action=rotate]`)
	b.fill(`#sources form[id^=rotate-] input[name=access_key_id]`, "AKIABROWSERTEST00009")
	b.fill(`#sources form[id^=rotate-] input[name=secret_access_key]`, "browser-test-secret-9")
	b.click(`#sources form[id^=rotate-] button[type=submit]`)
	b.waitText("#sources .card-error", "could not be read with these keys")
	b.waitText("#sources", "…0002")

	b.click(`#sources [data-action=delete]`)
	b.click(`#sources [data-action=confirm-delete]`)
	b.waitText("#sources-status", "The source was deleted")
	b.waitText("#sources", "No sources yet")
}

// Every control is reachable with the keyboard: log in with Tab, typing and Enter only.
func keyboardLogin(t *testing.T) {
	b := newTab(t)
	email, password := b.e.account(t)
	b.open("/login", "/login")
	// The page put focus on its heading: Tab goes on to the form, Shift+Tab
	// back through the navigation to the skip link.
	active := "document.activeElement.id || document.activeElement.textContent.trim()"
	var forward, backward []string
	for range 3 {
		b.do("tab", chromedp.KeyEvent("\t"))
		forward = append(forward, eval[string](b, active))
	}
	if got := strings.Join(forward, " > "); !regexp.MustCompile(`^f\d+-email > f\d+-password > login-submit$`).MatchString(got) {
		t.Errorf("Tab from the heading: %s", got)
	}
	eval[chromedp.Void](b, "document.querySelector('main h1').focus()")
	for range 4 {
		b.do("shift-tab", chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
		backward = append(backward, eval[string](b, active))
	}
	if got := strings.Join(backward, " < "); got != "Sign up < Log in < Atrium < Skip to the content" {
		t.Errorf("Shift+Tab from the heading: %s", got)
	}
	// Back to the email field, type, Tab, type, Enter.
	b.do("focus", chromedp.Focus(chromedp.CSS("#login input[name=email]")))
	b.do("type", chromedp.KeyEvent(email), chromedp.KeyEvent("\t"), chromedp.KeyEvent(password), chromedp.KeyEvent("\r"))
	b.waitPage("/account")
	b.waitText("#account-email", email)
}

// CORS: the dashboard's origin may call the API with the cookie; another
// site's page can neither read an answer nor act with the session.
func corsFlow(t *testing.T) {
	b := newTab(t)
	e := b.e
	email, password := e.account(t)
	for _, c := range []struct {
		origin string
		allow  bool
	}{{e.appURL, true}, {e.evilURL, false}, {"http://evil.example", false}} {
		req, _ := http.NewRequest(http.MethodOptions, e.apiURL+"/v1/sessions", nil)
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", "DELETE")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if c.allow && (got != c.origin || resp.Header.Get("Access-Control-Allow-Credentials") != "true") {
			t.Errorf("preflight from %s: allow-origin %q, credentials %q", c.origin, got, resp.Header.Get("Access-Control-Allow-Credentials"))
		}
		if !c.allow && got != "" {
			t.Errorf("preflight from %s allowed: %q", c.origin, got)
		}
	}

	b.loginAs(email, password)
	fetchAccount := "fetch(" + jsString(e.apiURL+"/v1/account") + ", {credentials: 'include'})" +
		".then(async (r) => (await r.json()).email ?? String(r.status), (err) => 'refused: ' + err.name)"
	if got := eval[string](b, fetchAccount); got != email {
		t.Fatalf("from the dashboard's origin the account reads %q", got)
	}
	// The same browser, on another site's page.
	b.do("open the other site", chromedp.Navigate(e.evilURL))
	if got := eval[string](b, fetchAccount); got != "refused: TypeError" {
		t.Fatalf("from %s the API's answer was readable: %q", e.evilURL, got)
	}
	// A request the page cannot read, but could send blind, changes nothing.
	blind := "fetch(" + jsString(e.apiURL+"/v1/sessions") + ", {method: 'DELETE', credentials: 'include', mode: 'no-cors'}).then(() => 'sent', (err) => 'refused: ' + err.name)"
	eval[string](b, blind)
	b.open("/settings/sessions", "/settings/sessions")
	b.waitText("#sessions tbody", "This session")
	if !strings.Contains(b.text("main"), "Sessions") {
		t.Fatal("the session did not survive the other site's requests")
	}
}

// A 429 says when to try again (Retry-After, readable through CORS).
func retryAfter(t *testing.T) {
	b := newTab(t)
	email, password := b.e.account(t)
	b.open("/login", "/login")
	b.fill("#login input[name=email]", email)
	for i := 0; ; i++ {
		b.fill("#login input[name=password]", password+"-wrong")
		b.click("#login-submit")
		b.waitFor("an answer", "!document.querySelector('#login-submit').disabled && document.querySelector('#login-error').textContent !== ''")
		msg := b.text("#login-error")
		if strings.Contains(msg, "Too many failed attempts") {
			if !regexp.MustCompile(`Try again in \d+ seconds? \(after .+\)\.`).MatchString(msg) {
				t.Fatalf("the 429 does not say when to retry: %q", msg)
			}
			return
		}
		if i == 10 {
			t.Fatalf("no login_delayed after %d failures: %q", i+1, msg)
		}
	}
}
