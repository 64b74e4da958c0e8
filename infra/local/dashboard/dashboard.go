// Package dashboard serves the reference dashboard (infra/dashboard/web) as
// any static host would, with the Content-Security-Policy as a header too.
//
// The dashboard is plain files: index.html names the API's origin (a <meta>
// and the CSP's connect-src, both "http://localhost:3000" as shipped). This
// server rewrites that origin when the API listens elsewhere, as an operator
// edits it before uploading the files, and answers every page's path (the
// links of Atrium's emails among them) with index.html.
package dashboard

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultAPI is the API origin index.html names as shipped (make run's API).
const DefaultAPI = "http://localhost:3000"

// Pages are the paths the dashboard answers with index.html: every page of
// js/app.js's route table, including each path Atrium's emails and Stripe's
// return URLs link to (verify-email, reset-password, login, forgot-password,
// settings/sessions and sessions, security, account-deleted, billing).
var Pages = []string{
	"/", "/signup", "/verify-email", "/login", "/forgot-password", "/reset-password",
	"/account", "/settings", "/settings/sessions", "/sessions", "/security", "/account-deleted",
	"/sources", "/billing", "/logs", "/compliance", "/dmca",
}

// Options configures the server.
type Options struct {
	// Dir holds the dashboard's files (infra/dashboard/web).
	Dir string
	// API is the API's origin, scheme://host[:port]; DefaultAPI when empty.
	API string
	// Auth is "cookie" (default) or "bearer".
	Auth string
}

// Dir is where the dashboard's files are in a checkout.
func Dir(repoRoot string) string { return filepath.Join(repoRoot, "infra", "dashboard", "web") }

// Policy is the Content-Security-Policy of the dashboard for an API origin:
// scripts and styles only from its own origin (no inline script or style, no
// eval), requests only to itself and the API, no plugins, no framing, and
// Trusted Types required, so that assigning a string to innerHTML throws.
func Policy(api string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' " + api +
		"; form-action 'self'; base-uri 'none'; object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
}

// headerOnly are the directives a <meta> CSP cannot carry.
const headerOnly = "; frame-ancestors 'none'"

// New returns the dashboard's handler.
func New(o Options) (http.Handler, error) {
	if o.API == "" {
		o.API = DefaultAPI
	}
	u, err := url.Parse(o.API)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("dashboard: the API must be an origin, scheme://host[:port], not %q", o.API)
	}
	if o.Auth == "" {
		o.Auth = "cookie"
	}
	if o.Auth != "cookie" && o.Auth != "bearer" {
		return nil, fmt.Errorf("dashboard: auth must be cookie or bearer, not %q", o.Auth)
	}
	index, err := os.ReadFile(filepath.Join(o.Dir, "index.html")) // #nosec G304 -- the checkout's own file
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	// index.html names the API twice, in its <meta> and in its CSP: the
	// policy must be the one Policy makes, so the header and the page agree.
	meta := `<meta http-equiv="Content-Security-Policy" content="` + Policy(DefaultAPI) + `">`
	if !bytes.Contains(index, []byte(meta)) || bytes.Count(index, []byte(DefaultAPI)) != 2 {
		return nil, errors.New("dashboard: index.html must carry dashboard.Policy(DefaultAPI) as its CSP <meta> and name " + DefaultAPI + " exactly twice")
	}
	index = bytes.ReplaceAll(index, []byte(DefaultAPI), []byte(o.API))
	index = bytes.Replace(index, []byte(`<meta name="atrium-auth" content="cookie">`), []byte(`<meta name="atrium-auth" content="`+o.Auth+`">`), 1)
	pages := make(map[string]bool, len(Pages))
	for _, p := range Pages {
		pages[p] = true
	}
	csp := Policy(o.API) + headerOnly
	files := http.FileServerFS(noDirs{os.DirFS(o.Dir)})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if pages[p] || p == "/index.html" {
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			_, _ = w.Write(index)
			return
		}
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}), nil
}

// noDirs hides directories, so that no listing is ever served.
type noDirs struct{ fs.FS }

func (n noDirs) Open(name string) (fs.File, error) {
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.IsDir() || strings.HasPrefix(path.Base(name), ".") {
		_ = f.Close()
		return nil, fs.ErrNotExist
	}
	return f, nil
}
