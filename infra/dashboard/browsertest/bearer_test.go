package browsertest

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// cookies are the names of the cookies the tab's browser context holds for
// the API and the dashboards.
func (b *tab) cookies() []string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{
		URLs: []string{b.e.apiURL + "/", b.e.appURL + "/", b.e.bearerURL + "/"}})
	if err != nil {
		b.t.Fatalf("read the cookies: %v", err)
	}
	var names []string
	for _, c := range res.Cookies {
		names = append(names, c.Name+" ("+c.Domain+c.Path+")")
	}
	return names
}

// bearerTokens collects, from now on, every bearer token the tab sends.
func (b *tab) bearerTokens() func() []string {
	b.t.Helper()
	b.do("network", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
		return err
	}))
	var mu sync.Mutex
	seen := map[string]bool{}
	var tokens []string
	sent := chromedp.Events(b.ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range sent {
			if err != nil {
				return
			}
			v, _ := ev.Request.Headers["Authorization"].(string)
			if tok, ok := strings.CutPrefix(v, "Bearer "); ok {
				mu.Lock()
				if !seen[tok] {
					seen[tok] = true
					tokens = append(tokens, tok)
				}
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), tokens...)
	}
}

// Set-up 2, bearer tokens in memory: the dashboard served with
// <meta name="atrium-auth" content="bearer"> logs in, shows authenticated
// pages and logs out with Authorization: Bearer alone. The browser stores
// no cookie, the token is in no storage a script or a later visitor could
// read, a reload forgets it, and logging out revokes it at the API.
func bearerFlow(t *testing.T) {
	b := newTab(t)
	e := b.e
	email, password := e.account(t)
	tokens := b.bearerTokens()

	b.loginAt(e.bearerURL, email, password)
	if got := eval[string](b, `document.querySelector('meta[name="atrium-auth"]').content`); got != "bearer" {
		t.Fatalf("the dashboard at %s is in %q mode", e.bearerURL, got)
	}
	b.waitText("#account-email", email)

	// An authenticated page that lists the session it is using.
	b.click(`nav a[href="/settings"]`)
	b.waitPage("/settings")
	b.click(`a[href="/settings/sessions"]`)
	b.waitPage("/settings/sessions")
	b.waitText("#sessions tbody", "This session")

	sent := tokens()
	if len(sent) != 1 {
		t.Fatalf("the dashboard sent %d distinct bearer tokens, want 1", len(sent))
	}
	token := sent[0]
	if r := e.call(t, "GET", "/v1/account", nil, bearer(token)); r.status != http.StatusOK {
		t.Fatalf("the token the dashboard sends does not authenticate: %d", r.status)
	}
	if got := b.cookies(); len(got) != 0 {
		t.Errorf("bearer mode stored cookies: %v", got)
	}
	stored := eval[string](b, `JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}])`)
	if strings.Contains(stored, token) || strings.Contains(stored, strings.Split(token, ".")[2]) {
		t.Errorf("the token is readable from document.cookie or web storage: %s", stored)
	}
	if stored != `["",{},{}]` {
		t.Errorf("bearer mode stored something: %s", stored)
	}

	// A reload forgets the token: the page asks for a login again.
	b.do("reload", chromedp.Reload())
	b.waitPage("/login")
	b.loginAt(e.bearerURL, email, password)
	b.click("#logout")
	b.waitPage("/login")
	// Logging out sent the new session's token, and the API revoked it.
	sent = tokens()
	if len(sent) != 2 {
		t.Fatalf("after a reload, a new login and a logout: %d distinct bearer tokens sent, want 2", len(sent))
	}
	if r := e.call(t, "GET", "/v1/account", nil, bearer(sent[1])); r.status != http.StatusUnauthorized {
		t.Errorf("after logging out the token still works: %d", r.status)
	}
	if got := b.cookies(); len(got) != 0 {
		t.Errorf("bearer mode stored cookies: %v", got)
	}
	// The page holds no token any more: an authenticated page asks for a login.
	b.do("history", chromedp.Evaluate[chromedp.Void]("history.pushState(null, '', '/account'); dispatchEvent(new PopStateEvent('popstate'))"))
	b.waitPage("/login")
}
