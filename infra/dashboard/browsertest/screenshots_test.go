package browsertest

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// screenshotDir is where the Screenshots flow saves its pictures: the
// README's (infra/dashboard/screenshots, written by
// `go run ./infra/dashboard/cmd/screenshots`), or a temporary directory.
var screenshotDir = flag.String("screenshots", "", "save the main pages' screenshots in this directory")

// The viewport of the README's screenshots.
const shotWidth, shotHeight = 1000, 700

// shot saves what the viewport shows as name.png and checks it is a
// picture of the viewport's size.
func (b *tab) shot(dir, name string) {
	b.t.Helper()
	// Nothing focused, at the top: the page as it rests, without the heading's focus ring.
	b.do("blur", chromedp.Evaluate[chromedp.Void]("document.activeElement?.blur(); window.scrollTo(0, 0)"))
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if s := img.Bounds().Size(); s.X != shotWidth || s.Y != shotHeight {
		b.t.Errorf("screenshot %s is %v, want %dx%d", name, s, shotWidth, shotHeight)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), raw, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("%s.png: %d bytes", name, len(raw))
}

// The main pages as a person sees them, at 1000×700: the login, the
// sessions of the account settings, sources with the register form,
// billing, request logs and a deletion's receipt.
func screenshots(t *testing.T) {
	dir := *screenshotDir
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := newTab(t)
	e := b.e
	b.do("viewport", chromedp.EmulateViewport(shotWidth, shotHeight))
	email, password := e.account(t)

	b.open("/login", "/login")
	b.fill("#login input[name=email]", email)
	b.shot(dir, "login")

	b.loginAs(email, password)
	token := e.login(t, email, password) // another device's session
	b.open("/settings/sessions", "/settings/sessions")
	b.waitFor("the sessions", "document.querySelectorAll('#sessions tbody tr').length >= 2")
	b.shot(dir, "sessions")

	b.open("/sources", "/sources")
	b.fill("#source-register input[name=name]", "Product photos")
	b.fill("#source-register input[name=bucket]", "acme-product-photos")
	b.fill("#source-register input[name=prefix]", "images/")
	b.shot(dir, "sources")

	b.open("/billing", "/billing")
	b.waitText("#billing-plan", "standard")
	b.shot(dir, "billing")

	b.open("/logs", "/logs")
	b.waitText("#logs", "/v1/billing") // the billing page's own request
	b.shot(dir, "logs")

	r := e.call(t, "DELETE", "/v1/account", map[string]string{"password": password}, bearer(token))
	if r.status != http.StatusAccepted {
		t.Fatalf("delete the account: %d %v", r.status, r.body)
	}
	id, _ := r.body["deletion"].(map[string]any)["id"].(string)
	b.open("/account-deleted#deletion="+id, "/account-deleted")
	b.waitFor("the deletion to finish", "document.querySelector('#deletion-status')?.dataset.status === 'done'")
	b.shot(dir, "deletion-receipt")
}
