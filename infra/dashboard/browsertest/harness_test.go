// Package browsertest drives the reference dashboard in headless Chromium
// (chromedp) against the whole local API: one stack and one browser for the
// run, each flow a subtest in a browser context of its own (its own cookies).
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/atrium-cdn/atrium/infra/local/dashboard"
	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// env is what every flow shares: the API, the dashboard, a cross-site
// origin, and the browser.
type env struct {
	apiURL string // http://localhost:PORT, the whole API behind the template's CORS rules
	appURL string // http://localhost:PORT, the dashboard (its origin is allowed)
	// bearerURL is the same dashboard in bearer mode (set-up 2: the session
	// token kept in memory only), on an allowed origin of its own.
	bearerURL string
	evilURL   string // http://127.0.0.2:PORT, a cross-site page
	stack     *stack.Stack
	browser   context.Context
	closeAll  func()
	// artifacts receives a failing flow's screenshot and console log.
	artifacts string
}

var (
	setupOnce sync.Once
	theEnv    *env
	setupErr  error
	// chromiumTmp is Chromium's TMPDIR, removed after the tests.
	chromiumTmp string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theEnv != nil {
		theEnv.closeAll()
		// The artifacts (the API's log, a failure's screenshot) are for a
		// post-mortem: kept when something failed, else removed.
		if code == 0 {
			_ = os.RemoveAll(theEnv.artifacts)
		} else if theEnv.artifacts != "" {
			fmt.Fprintf(os.Stderr, "browsertest: artifacts kept in %s\n", theEnv.artifacts)
		}
	}
	if chromiumTmp != "" { // after closeAll: Chromium has exited
		_ = os.RemoveAll(chromiumTmp)
	}
	os.Exit(code)
}

// chromiumPath finds the browser, or says what to install.
func chromiumPath() (string, error) {
	if p := os.Getenv("ATRIUM_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: the browser tests need headless Chromium. Install Debian's package " +
		"(`apt-get install chromium`; `make test` does it when run as root) or set ATRIUM_CHROMIUM to a Chrome or Chromium binary")
}

// setup starts the API, the dashboard, the cross-site page and Chromium, once.
func setup(t testing.TB) *env {
	t.Helper()
	setupOnce.Do(func() { theEnv, setupErr = start(t) })
	if setupErr != nil {
		t.Fatalf("start the browser test environment: %v", setupErr)
	}
	return theEnv
}

func listen(host string) (net.Listener, string, error) {
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		return nil, "", err
	}
	return l, fmt.Sprint(l.Addr().(*net.TCPAddr).Port), nil
}

func start(t testing.TB) (*env, error) {
	chromium, err := chromiumPath()
	if err != nil {
		return nil, err
	}
	e := &env{}
	var closers []func()
	e.closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	serve := func(l net.Listener, h http.Handler) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		closers = append(closers, func() { _ = srv.Close() })
	}
	apiL, apiPort, err := listen("127.0.0.1")
	if err != nil {
		return nil, err
	}
	appL, appPort, err := listen("127.0.0.1")
	if err != nil {
		return nil, err
	}
	bearerL, bearerPort, err := listen("127.0.0.1")
	if err != nil {
		return nil, err
	}
	// 127.0.0.2 is loopback too, and another site than localhost.
	evilL, evilPort, err := listen("127.0.0.2")
	if err != nil {
		return nil, err
	}
	e.apiURL, e.appURL, e.evilURL = "http://localhost:"+apiPort, "http://localhost:"+appPort, "http://127.0.0.2:"+evilPort
	e.bearerURL = "http://localhost:" + bearerPort

	if e.artifacts, err = os.MkdirTemp("", "atrium-browsertest-*"); err != nil {
		return nil, err
	}
	// The functions' log lines, for a failure's post-mortem.
	logs, err := os.Create(filepath.Join(e.artifacts, "functions.log"))
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = logs.Close() })
	e.stack = testenv.NewStack(t)
	// The template's AllowedOrigins: CORS and ALLOWED_ORIGINS alike.
	e.stack.Origins = []string{e.appURL, e.bearerURL}
	api, err := gateway.New(context.Background(), filepath.Join(testenv.RepoRoot(t), "template.yaml"), func(fn string) coldstart.Env {
		return e.stack.ColdstartEnv(fn, logs, map[string]string{
			"APP_BASE_URL": e.appURL,
			// Passkeys are bound to the origins the browser reports.
			"PASSKEY_ORIGINS": e.appURL + "," + e.bearerURL,
			// Every request comes from 127.0.0.1: the per-client limits are
			// the auth package's tests' business.
			"RATE_LIMIT_LOGIN": "100000", "RATE_LIMIT_SIGNUP": "100000",
			"RATE_LIMIT_VERIFY": "100000", "RATE_LIMIT_PASSWORD": "100000", "MAIL_CAP_PER_ADDRESS": "1000",
		})
	})
	if err != nil {
		return nil, err
	}
	// API Gateway's CORS rules, read from template.yaml with the stack's parameters.
	if api, err = gateway.WithCORS(api, filepath.Join(testenv.RepoRoot(t), "template.yaml"), e.stack.Parameters()); err != nil {
		return nil, err
	}
	if _, err := gateway.StartStreams(context.Background(), gateway.StreamOptions{
		RepoRoot: testenv.RepoRoot(t), DynamoDBEndpoint: e.stack.DynamoDBEndpoint, Tables: e.stack.Tables,
		Env:    func(fn string) coldstart.Env { return e.stack.ColdstartEnv(fn, logs, nil) },
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	}); err != nil {
		return nil, err
	}
	serve(apiL, api)
	app, err := dashboard.New(dashboard.Options{Dir: dashboard.Dir(testenv.RepoRoot(t)), API: e.apiURL})
	if err != nil {
		return nil, err
	}
	serve(appL, app)
	bearerApp, err := dashboard.New(dashboard.Options{Dir: dashboard.Dir(testenv.RepoRoot(t)), API: e.apiURL, Auth: "bearer"})
	if err != nil {
		return nil, err
	}
	serve(bearerL, bearerApp)
	serve(evilL, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>another site</title><p>Not the dashboard.</p>")
	}))

	// Chromium's own temporary files (org.chromium.Chromium.*, its singleton
	// socket), which it leaves behind, go into a directory TestMain removes
	// (short: the socket's path must fit in 108 bytes).
	if chromiumTmp, err = os.MkdirTemp("", "atrium-chr-"); err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1200, 900), chromedp.Env("TMPDIR="+chromiumTmp))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	closers = append(closers, cancelAlloc, cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		return nil, fmt.Errorf("start %s: %w", chromium, err)
	}
	e.browser = browser
	return e, nil
}

// tab is one flow's browser tab, in a browser context of its own.
type tab struct {
	t   *testing.T
	e   *env
	ctx context.Context
	mu  sync.Mutex
	log []string // the console, exceptions and dialogs, in order
	// dialogs counts JavaScript dialogs (alert, confirm, prompt) that opened.
	dialogs int
}

func newTab(t *testing.T) *tab {
	t.Helper()
	e := setup(t)
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	b := &tab{t: t, e: e, ctx: ctx}
	console := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.log = append(b.log, fmt.Sprintf("%s %s %s:%d", m.Type, m.Text, m.URL, m.Line))
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs++
			b.log = append(b.log, fmt.Sprintf("DIALOG %s %q", ev.Type, ev.Message))
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	t.Cleanup(func() {
		defer cancel()
		b.mu.Lock()
		log, dialogs := strings.Join(b.log, "\n"), b.dialogs
		b.mu.Unlock()
		if dialogs > 0 {
			t.Errorf("%d JavaScript dialogs opened", dialogs)
		}
		// A policy violation or an uncaught exception is a failure wherever it happens.
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "Content Security Policy") || strings.Contains(line, "Trusted") || strings.HasPrefix(line, string(chromedp.ConsoleException)) {
				t.Errorf("console: %s", line)
			}
		}
		if t.Failed() {
			b.saveArtifacts(log)
		}
	})
	return b
}

// saveArtifacts keeps a failing flow's screenshot and console log.
func (b *tab) saveArtifacts(log string) {
	dir := filepath.Join(b.e.artifacts, regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(b.t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "screenshot.png"), png, 0o644)
	} else {
		b.t.Logf("screenshot: %v", err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	_ = os.WriteFile(filepath.Join(dir, "console.log"), []byte("page: "+loc+"\n"+log+"\n"), 0o644)
	b.t.Logf("screenshot and console log of the failure: %s (the API's log: %s)", dir, filepath.Join(b.e.artifacts, "functions.log"))
}

const timeout = 20 * time.Second

// do runs browser actions, failing the test on the first error.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds (a page's content is
// asynchronous; this waits for the condition, never for a fixed time).
// chromedp.Poll cannot be used: it builds its predicate with new Function,
// which the dashboard's CSP forbids.
func (b *tab) waitFor(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, timeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+js+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s (%s; last error %v)", what, js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jsString(s string) string {
	raw, _ := json.Marshal(s)
	return string(raw)
}

// open loads a dashboard URL (a path, or a whole URL such as an email's link)
// and waits until the page at wantPath has rendered.
func (b *tab) open(url, wantPath string) {
	b.t.Helper()
	if strings.HasPrefix(url, "/") {
		url = b.e.appURL + url
	}
	b.do("open "+url, chromedp.Navigate(url))
	b.waitPage(wantPath)
}

// waitPage waits until the dashboard shows the page at path.
func (b *tab) waitPage(path string) {
	b.t.Helper()
	b.waitFor("page "+path, "document.querySelector('main')?.dataset.page === "+jsString(path))
}

// fill empties a control and types into it, as a person does.
func (b *tab) fill(css, value string) {
	b.t.Helper()
	b.do("fill "+css, chromedp.WaitVisible(chromedp.CSS(css)),
		chromedp.Evaluate[chromedp.Void]("document.querySelector("+jsString(css)+").value = ''"),
		chromedp.SendKeys(chromedp.CSS(css), value))
}

func (b *tab) click(css string) {
	b.t.Helper()
	b.do("click "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Click(chromedp.CSS(css)))
}

// text is an element's textContent ("" when there is none).
func (b *tab) text(css string) string {
	b.t.Helper()
	return eval[string](b, "document.querySelector("+jsString(css)+")?.textContent ?? ''")
}

// waitText waits until an element's text contains want.
func (b *tab) waitText(css, want string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%s to say %q", css, want),
		"(document.querySelector("+jsString(css)+")?.textContent ?? '').includes("+jsString(want)+")")
}

// checkLabels fails when a control of the page has no accessible name.
func (b *tab) checkLabels() {
	b.t.Helper()
	unlabelled := eval[[]string](b, `[...document.querySelectorAll('input, select, textarea, button')]
		.filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
		.map((el) => el.outerHTML)`)
	if len(unlabelled) > 0 {
		b.t.Errorf("controls without a label: %v", unlabelled)
	}
}

// --- the API and Mailpit, as the test's own hands ----------------------------

type apiResponse struct {
	status int
	header http.Header
	body   map[string]any
}

// call sends a request to the API as a non-browser client would.
func (e *env) call(t testing.TB, method, path string, body any, header map[string]string) apiResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.apiURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out := apiResponse{status: resp.StatusCode, header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// login opens a session through the API and returns its token.
func (e *env) login(t testing.TB, email, password string) string {
	t.Helper()
	r := e.call(t, "POST", "/v1/login", map[string]string{"email": email, "password": password}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %v", r.status, r.body)
	}
	return r.body["session"].(map[string]any)["token"].(string)
}

// account makes an active account through the API and Mailpit.
func (e *env) account(t testing.TB) (email, password string) {
	t.Helper()
	email, password = testenv.Email(t), newPassword()
	if r := e.call(t, "POST", "/v1/signup", map[string]string{"email": email}, nil); r.status != http.StatusAccepted {
		t.Fatalf("signup: %d %v", r.status, r.body)
	}
	token := strings.TrimPrefix(mailLink(t, e, email, "/verify-email#token="), e.appURL+"/verify-email#token=")
	if r := e.call(t, "POST", "/v1/signup/verify", map[string]string{"token": token, "password": password}, nil); r.status != http.StatusCreated {
		t.Fatalf("verify: %d %v", r.status, r.body)
	}
	return email, password
}

var pwSeq struct {
	sync.Mutex
	n int
}

// newPassword returns a password the policy accepts, new each time.
func newPassword() string {
	pwSeq.Lock()
	defer pwSeq.Unlock()
	pwSeq.n++
	return fmt.Sprintf("violet-harbor-%d-quantum-%d-lantern", time.Now().UnixNano()%100000, pwSeq.n)
}

var linkIn = regexp.MustCompile(`http://localhost:\d+/[A-Za-z0-9/_-]+(?:#[a-z]+=[A-Za-z0-9_-]+)?`)

// mailLink waits for an email to the address with a link starting with the
// dashboard's URL and path, and returns the newest such link.
func mailLink(t testing.TB, e *env, to, path string) string {
	t.Helper()
	prefix := e.appURL + path
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, m := range testenv.Mails(t, to) {
			for _, l := range linkIn.FindAllString(strings.ReplaceAll(m.Text, "=\r\n", ""), -1) {
				if strings.HasPrefix(l, prefix) {
					return l
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email to %s links to %s", to, prefix)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
