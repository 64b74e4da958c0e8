package browsertest

import (
	"crypto/hmac"
	"crypto/sha1" // #nosec G505 -- RFC 6238's HMAC-SHA-1, as authenticator apps compute it
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// totpCode is RFC 6238's code (HMAC-SHA-1, 6 digits, 30 s) at t, computed
// here independently of the code under test.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		t.Fatalf("the page's secret %q is not base32: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:])&0x7fffffff)%1_000_000)
}

// RFC 6238 appendix B's SHA-1 vectors (8 digits there; the last 6 here).
func TestTOTPVectors(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for at, want := range map[int64]string{59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924", 2000000000: "279037", 20000000000: "353130"} {
		if got := totpCode(t, secret, time.Unix(at, 0)); got != want {
			t.Errorf("T=%d: %s, want %s", at, got, want)
		}
	}
}

// codes hands out codes of time steps not used yet by this factor (a code
// is accepted once): the current step, or the next one (the API accepts one
// step of skew), and only when both are used, the next step's after waiting
// for the clock to reach it.
type codes struct {
	secret string
	last   int64
}

func (c *codes) next(t *testing.T) string {
	t.Helper()
	for time.Now().Unix()/30+1 <= c.last {
		time.Sleep(200 * time.Millisecond) // the condition is the clock itself: a new 30 s step
	}
	step := max(time.Now().Unix()/30, c.last+1)
	c.last = step
	return totpCode(t, c.secret, time.Unix(step*30, 0))
}

// noStrayValues fails when the page shows "null" or "undefined", the
// trace of a missing value rendered as text.
func (b *tab) noStrayValues() {
	b.t.Helper()
	if txt := b.text("main"); strings.Contains(txt, "null") || strings.Contains(txt, "undefined") {
		b.t.Errorf("the page shows a stray value: %q", txt)
	}
}

// loginStep logs in with the password and waits for the second step.
func (b *tab) loginStep(email, password string) {
	b.t.Helper()
	b.open("/login", "/login")
	b.fill("#login input[name=email]", email)
	b.fill("#login input[name=password]", password)
	b.click("#login-submit")
	b.waitFor("the second step", "document.querySelector('#login-step h2') !== null")
}

// Enrol an authenticator app from the Security page (after a step-up with
// the password), log out, log in with password + TOTP, then with a
// recovery code (the warning of few codes left included), make new codes
// and remove the app after a step-up with a code.
func totpFlow(t *testing.T) {
	b := newTab(t)
	email, password := b.e.account(t)
	b.loginAs(email, password)
	b.open("/security", "/security")
	b.checkLabels()
	b.waitFor("the factor lists", "document.querySelector('#totp-none') && document.querySelector('#passkey-none')")
	b.noStrayValues()

	// A password login is a fresh step-up for an account without a factor.
	b.click("#totp-add")
	b.waitFor("the enrolment or the step-up", "document.querySelector('#totp-secret') || document.querySelector('#step-up')")
	if eval[bool](b, "document.querySelector('#step-up') !== null") {
		b.fill("#step-up-password input[name=password]", password)
		b.click("#step-up-password-submit")
	}
	b.waitFor("the secret", "document.querySelector('#totp-secret')")
	c := &codes{secret: b.text("#totp-secret")}
	uri, err := url.Parse(b.text("#totp-uri"))
	if err != nil || uri.Scheme != "otpauth" || uri.Query().Get("secret") != c.secret {
		t.Fatalf("otpauth URI %q does not carry the secret shown", b.text("#totp-uri"))
	}
	if n := eval[int](b, "document.querySelectorAll('#totp-qr path').length"); n != 1 {
		t.Fatalf("no QR code drawn (%d paths)", n)
	}
	b.fill("#totp-confirm input[name=code]", c.next(t))
	b.click("#totp-confirm-submit")
	b.waitFor("the recovery codes", "document.querySelectorAll('#recovery-codes li').length === 10")
	first := eval[[]string](b, "[...document.querySelectorAll('#recovery-codes li')].map((li) => li.textContent)")
	b.click("#codes-saved")
	b.waitText("#recovery-left", "10 recovery codes left")
	b.noStrayValues()

	// This session predates the factor, so it is not upgraded: new recovery
	// codes need a step-up with the factor; the prompt asks for a code and
	// the action then completes.
	b.click("#recovery-new")
	b.waitFor("the step-up prompt", "document.querySelector('#step-up-code')")
	if eval[bool](b, "document.querySelector('#step-up-password') !== null") {
		t.Fatal("the step-up offers the password to an account with a second factor")
	}
	b.fill("#step-up-code input[name=code]", c.next(t))
	b.click("#step-up-code-submit")
	b.waitFor("the new codes", "document.querySelectorAll('#recovery-codes li').length === 10 && !document.querySelector('#step-up')")
	recovery := eval[[]string](b, "[...document.querySelectorAll('#recovery-codes li')].map((li) => li.textContent)")
	b.click("#codes-saved")

	// Log out; the password alone no longer opens the account.
	b.click("#logout")
	b.waitPage("/login")
	b.loginStep(email, password)
	b.fill("#mfa input[name=code]", "000000")
	b.click("#mfa-submit")
	b.waitText("#mfa-error", "That code is wrong")
	b.fill("#mfa input[name=code]", c.next(t))
	b.click("#mfa-submit")
	b.waitPage("/account")
	b.waitText("#account-email", email)
	b.open("/settings/sessions", "/settings/sessions")
	b.waitText("tr[data-current] td.amr", "password + authenticator app")

	// With recovery codes: down to 3 left, the login warns.
	for i := 0; i < 7; i++ {
		b.click("#logout")
		b.waitPage("/login")
		b.loginStep(email, password)
		b.fill("#mfa input[name=code]", strings.ToUpper(recovery[i]))
		b.click("#mfa-submit")
		if i < 6 {
			b.waitPage("/account")
		}
	}
	b.waitPage("/security")
	b.waitText("#flash", "Only 3 recovery codes left")
	// A used code does not work again, nor one of the replaced set.
	b.click("#logout")
	b.waitPage("/login")
	b.loginStep(email, password)
	b.fill("#mfa input[name=code]", recovery[0])
	b.click("#mfa-submit")
	b.waitText("#mfa-error", "That code is wrong")
	b.do("clear the error", chromedp.Evaluate[chromedp.Void]("document.querySelector('#mfa-error').textContent = ''"))
	b.fill("#mfa input[name=code]", first[9])
	b.click("#mfa-submit")
	b.waitText("#mfa-error", "That code is wrong")
	b.fill("#mfa input[name=code]", recovery[7])
	b.click("#mfa-submit")
	b.waitPage("/security")

	// New codes now (the recovery-code login is a fresh step-up).
	b.click("#recovery-new")
	b.waitFor("the new codes", "document.querySelectorAll('#recovery-codes li').length === 10")
	b.click("#codes-saved")
	b.waitText("#recovery-left", "10 recovery codes left")

	// Removing the app (the recovery-code login is a fresh step-up).
	b.click("#totp-list button")
	b.waitText("#security-status", "The authenticator app was removed.")
	b.waitFor("no app left", "document.querySelector('#totp-none')")
	b.waitText("#recovery-left", "Recovery codes come with your first second factor")
}

// presence switches the virtual authenticator's automatic user presence:
// off, the login page's pending autofill request stays unanswered (as when a
// person does not pick the passkey), so the other ways can be tried.
func presence(t *testing.T, b *tab, id webauthn.AuthenticatorID, on bool) {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on}); err != nil {
		t.Fatalf("WebAuthn.setAutomaticPresenceSimulation: %v", err)
	}
}

func addAuthenticator(t *testing.T, b *tab) webauthn.AuthenticatorID {
	t.Helper()
	ctx := b.ctx
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	r, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return r.AuthenticatorID
}

// Register a passkey (after a step-up), log in with it as second factor,
// passwordless with the button and through autofill, rename and remove it.
func passkeyFlow(t *testing.T) {
	b := newTab(t)
	email, password := b.e.account(t)
	b.loginAs(email, password)
	auth := addAuthenticator(t, b)
	b.open("/security", "/security")
	b.waitFor("the passkey list", "document.querySelector('#passkey-none')")
	b.fill("#passkey-add input[name=name]", "Laptop <b>key</b>")
	b.click("#passkey-add-submit")
	b.waitText("#passkey-list .passkey-name", "Laptop <b>key</b>")
	if n := eval[int](b, "document.querySelectorAll('#passkey-list b').length"); n != 0 {
		t.Fatal("the passkey's name was parsed as HTML")
	}

	// This session predates the passkey: removing it needs a step-up with
	// it (the only factor), through the prompt's passkey button.
	b.click("#passkey-list button.remove")
	b.waitFor("the step-up prompt", "document.querySelector('#step-up-passkey')")
	b.click("#step-up-passkey")
	b.waitText("#security-status", "The passkey was removed.")
	b.waitFor("no passkey left", "document.querySelector('#passkey-none')")
	// Registered again (the step-up is fresh now): the authenticator replaces
	// its credential for this account.
	b.fill("#passkey-add input[name=name]", "Laptop")
	b.click("#passkey-add-submit")
	b.waitText("#passkey-list .passkey-name", "Laptop")

	// Second factor after the password (the autofill request left unanswered).
	presence(t, b, auth, false)
	b.click("#logout")
	b.waitPage("/login")
	b.loginStep(email, password)
	presence(t, b, auth, true)
	b.click("#mfa-passkey")
	b.waitPage("/account")
	b.waitText("#account-email", email)

	// Passwordless, with the button (which cancels the autofill request).
	presence(t, b, auth, false)
	b.click("#logout")
	b.waitPage("/login")
	presence(t, b, auth, true)
	b.click("#passkey-login")
	b.waitPage("/account")
	b.waitText("#account-email", email)

	// Passwordless through autofill: the email field offers the passkey
	// (autocomplete "username webauthn"); the page's conditional request is
	// answered by the virtual authenticator, which picks its passkey at once.
	b.click("#logout")
	b.waitFor("the login page, then the account page", "['/login', '/account'].includes(document.querySelector('main')?.dataset.page)")
	b.waitPage("/account")
	b.waitText("#account-email", email)

	b.open("/login", "/login")
	if got := eval[string](b, "document.querySelector('#login input[name=email]')?.getAttribute('autocomplete') ?? ''"); got != "username webauthn" && eval[string](b, "document.querySelector('main').dataset.page") == "/login" {
		t.Fatalf("email field autocomplete %q", got)
	}
	b.waitPage("/account") // the autofill request is answered here too

	// Rename, then remove (the passkey login is a fresh step-up).
	b.open("/security", "/security")
	b.waitFor("the passkey list", "document.querySelector('#passkey-list')")
	b.click("#passkey-list button.rename")
	b.fill("#passkey-list form input[name=name]", "Work laptop")
	b.click("#passkey-list form button[type=submit]")
	b.waitText("#passkey-list .passkey-name", "Work laptop")
	b.click("#passkey-list button.remove")
	b.waitFor("no passkey left", "document.querySelector('#passkey-none')")
	b.waitText("#security-status", "The passkey was removed.")
}
