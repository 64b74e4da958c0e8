package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/web"
)

const root = "../../.."

func read(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// Every problem code the API can answer has a human message in the dashboard.
func TestEveryProblemCodeHasAMessage(t *testing.T) {
	js := read(t, "infra/dashboard/web/js/messages.js")
	for _, c := range web.Codes() {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(string(c.Code)) + `: '`).MatchString(js) {
			t.Errorf("messages.js has no message for %q", c.Code)
		}
	}
}

// The server answers exactly the pages of the dashboard's route table, and
// every path an email or Stripe's return URL links to is one of them.
func TestPagesAreTheRoutesAndTheLinkedPaths(t *testing.T) {
	var routes []string
	for _, m := range regexp.MustCompile(`(?m)^  '(/[a-z/-]*)': \{`).FindAllStringSubmatch(read(t, "infra/dashboard/web/js/app.js"), -1) {
		routes = append(routes, m[1])
	}
	slices.Sort(routes)
	pages := slices.Sorted(slices.Values(Pages))
	if !slices.Equal(routes, pages) {
		t.Fatalf("app.js routes %v, server pages %v", routes, pages)
	}
	linked := map[string]bool{}
	for _, f := range []string{"functions/auth/authapi/emails.go", "functions/billing/billingapi/billingapi.go", "shared/billing/billing.go"} {
		src, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // not every file exists in every version; the emails' one must
		}
		for _, m := range regexp.MustCompile(`(?:%s|AppURL\+")(/[a-z/-]+)`).FindAllStringSubmatch(string(src), -1) {
			linked[m[1]] = true
		}
	}
	if !linked["/verify-email"] || !linked["/reset-password"] {
		t.Fatalf("found no email links to check: %v", linked)
	}
	for p := range linked {
		if !slices.Contains(Pages, p) {
			t.Errorf("Atrium links to %s, which the dashboard does not answer", p)
		}
	}
}

func TestServer(t *testing.T) {
	h, err := New(Options{Dir: Dir(root), API: "http://localhost:4000"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, body := get("/verify-email")
	if resp.StatusCode != 200 || strings.Count(body, "http://localhost:4000") != 2 || strings.Contains(body, DefaultAPI) {
		t.Fatalf("/verify-email: %d, API named %d times", resp.StatusCode, strings.Count(body, "http://localhost:4000"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if csp != Policy("http://localhost:4000")+"; frame-ancestors 'none'" || strings.Contains(csp, "unsafe") {
		t.Fatalf("CSP header %q", csp)
	}
	if !strings.Contains(body, `content="`+Policy("http://localhost:4000")+`"`) {
		t.Fatal("the page's CSP <meta> differs from the header's policy")
	}
	if resp, _ := get("/js/app.js"); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("/js/app.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/js/", "/js", "/nope", "/.git"} {
		if resp, _ := get(p); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
	// No inline script or style anywhere in the page: the policy would refuse it.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]|<style|\sstyle=|\son[a-z]+=`).MatchString(body) {
		t.Fatal("index.html has inline script or style")
	}
	if _, err := New(Options{Dir: Dir(root), API: "http://localhost:4000/v1"}); err == nil {
		t.Fatal("an API URL with a path was accepted")
	}
}
