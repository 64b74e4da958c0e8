package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// choose picks an option of a select as a person does (the change event fires).
func (b *tab) choose(css, value string) {
	b.t.Helper()
	eval[chromedp.Void](b, "(() => { const el = document.querySelector("+jsString(css)+"); el.value = "+jsString(value)+
		"; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); })()")
}

// requestsTo records the URLs of the requests the tab sends whose URL starts with prefix.
func (b *tab) requestsTo(prefix string) func() []string {
	b.do("network", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
		return err
	}))
	var mu sync.Mutex
	var urls []string
	ctx, cancel := context.WithCancel(b.ctx)
	b.t.Cleanup(cancel)
	events := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if strings.HasPrefix(ev.Request.URL, prefix) {
				mu.Lock()
				urls = append(urls, ev.Request.URL)
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), urls...)
	}
}

func (b *tab) waitRequest(what string, seen func() []string, n int) string {
	b.t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		if got := seen(); len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the browser never went to %s", what)
		}
	}
}

// (e) billing: the plan, Checkout and Portal (stripe-mock's URLs); request
// logs page by page; the GDPR export downloaded.
func billingLogsExport(t *testing.T) {
	b := newTab(t)
	e := b.e
	email, password := e.account(t)
	b.loginAs(email, password)

	// The export: a JSON file download of everything held.
	dir := t.TempDir()
	b.do("downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: chromedp.FromContext(b.ctx).BrowserContextID,
			DownloadPath: dir, EventsEnabled: new(true)})
		return err
	}))
	b.click("#export")
	b.waitText("#export-status", "Downloaded atrium-export-")
	var export map[string]any
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dir, "atrium-export-*.json"))
		if len(files) == 1 {
			raw, err := os.ReadFile(files[0])
			if err == nil && json.Unmarshal(raw, &export) == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no export file in %s", dir)
		}
	}
	if export["format"] != "atrium-export-v1" || export["account"].(map[string]any)["email"] != email {
		t.Fatalf("export: format %v, account %v", export["format"], export["account"])
	}

	seen := b.requestsTo("https://")
	b.click(`nav a[href="/billing"]`)
	b.waitPage("/billing")
	b.waitText("#billing-plan", "standard")
	b.checkLabels()
	b.click("#portal")
	b.waitText("#billing-error", "has never subscribed")
	b.click("#checkout")
	checkout := b.waitRequest("Stripe Checkout", seen, 1)
	if !isStripe(checkout) {
		t.Fatalf("Checkout went to %s", checkout)
	}
	b.open("/billing?checkout=cancelled", "/billing")
	b.waitText("main", "Checkout was cancelled")
	b.click("#portal")
	if portal := b.waitRequest("the Stripe Customer Portal", seen, 2); !isStripe(portal) {
		t.Fatalf("Portal went to %s", portal)
	}

	// Request logs, three to a page.
	token := e.login(t, email, password)
	for range 6 {
		if r := e.call(t, "GET", "/v1/account", nil, bearer(token)); r.status != http.StatusOK {
			t.Fatalf("account: %d", r.status)
		}
	}
	b.open("/logs?limit=3", "/logs")
	rows := "document.querySelectorAll('#logs tr').length"
	b.waitFor("3 rows", rows+" === 3")
	b.waitText("#logs", "/v1/account") // the route pattern, in its own cell beside the method
	b.click("#logs-more")
	b.waitFor("6 rows", rows+" === 6")
	b.waitText("#logs-count", "6 entries shown")
}

// (f) compliance: the NDA, a premium-only request refused with its message,
// a pen-test notice; and the public DMCA form.
func complianceFlow(t *testing.T) {
	b := newTab(t)
	e := b.e
	email, password := e.account(t)
	b.loginAs(email, password)
	b.click(`nav a[href="/compliance"]`)
	b.waitPage("/compliance")
	b.checkLabels()
	b.waitText("#nda-state", "is not accepted yet")
	b.fill("#nda input[name=signatory_name]", "Ada Lovelace")
	b.fill("#nda input[name=signatory_title]", "CTO")
	b.click("#nda input[name=accept]")
	b.click("#nda-submit")
	b.waitText("#nda-state", "You accepted NDA version")

	b.choose("#compliance-request select[name=type]", "soc2_report")
	b.click("#compliance-request-submit")
	b.waitText("#compliance-request-error", "This needs the premium plan")

	b.choose("#compliance-request select[name=type]", "pentest_notice")
	b.checkLabels()
	start, end := time.Now().Add(48*time.Hour), time.Now().Add(96*time.Hour)
	b.fill("#compliance-request textarea[name=scope]", "staging.example.com and its image URLs")
	b.do("dates", chromedp.SetValue(chromedp.CSS("#compliance-request input[name=start]"), start.Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.CSS("#compliance-request input[name=end]"), end.Format("2006-01-02T15:04")))
	b.fill("#compliance-request input[name=contact_name]", "Grace Hopper")
	b.click("#compliance-request-submit")
	b.waitText("#compliance-request-notice", "sent to your account manager")
	b.waitText("#requests", "Announce a penetration test")
}

func dmcaFlow(t *testing.T) {
	b := newTab(t)
	b.open("/login", "/login")
	b.click(`footer a[href="/dmca"]`)
	b.waitPage("/dmca")
	b.checkLabels()
	fields := map[string]string{
		"input[name=infringing_url]": "https://images.example.net/stolen.jpg", "input[name=original_url]": "https://photos.example.org/original.jpg",
		"input[name=complainant_name]": "Ada Lovelace", "textarea[name=postal_address]": "12 St James's Square, London",
		"input[name=telephone]": "+44 20 7946 0000", "input[name=email]": "ada@example.org", "input[name=signature]": "Ada Lovelace",
	}
	for css, v := range fields {
		b.fill("#dmca "+css, v)
	}
	// Without the statements: every missing element is named.
	b.click("#dmca-submit")
	b.waitText("#dmca-error", "Some fields need attention")
	b.waitText("#dmca-error", "Good faith statement")
	for _, box := range []string{"good_faith_statement", "accuracy_statement", "authorized_under_penalty_of_perjury"} {
		b.click(fmt.Sprintf("#dmca input[name=%s]", box))
	}
	b.click("#dmca-submit")
	b.waitText("#dmca-done", "Notice ")
	b.waitText("#dmca-done", "received")
}

// isStripe reports whether a URL is a Stripe-hosted page (stripe-mock's
// fixtures use checkout.stripe.com and a *.stripe.me portal).
func isStripe(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "https" && (strings.HasSuffix(p.Hostname(), ".stripe.com") || strings.HasSuffix(p.Hostname(), ".stripe.me"))
}
