package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/fakes3"
	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/infra/openapi"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/logging"
)

// The whole API on one local port, as `make run` serves it, built once for
// the package on its own tables. Every log line it writes is kept, so that
// TestMain can prove no secret or personal datum reached one.
var (
	apiOnce sync.Once
	apiURL  string
	// internalURL serves the invoked functions (credentials, housekeeping).
	internalURL string
	apiErr      error
	theStack    *stack.Stack
	logs        = &testenv.LogBuffer{}
	// sensitive collects every password, token and email address the tests use.
	sensitive sync.Map
	// contract checks every request to the API and every answer against
	// infra/openapi/openapi.yaml; apiClient sends through it.
	contract  *openapi.Checker
	apiClient *http.Client
)

// remember marks values that must never appear in a log line.
func remember(values ...string) {
	for _, v := range values {
		if v != "" {
			sensitive.Store(v, true)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 && os.Getenv("ATRIUM_TEST_DUMP_LOGS") != "" {
		fmt.Fprintln(os.Stderr, logs.String())
	}
	if code == 0 && apiURL != "" {
		code = max(checkLogs(), checkRequestLogs(), checkLifecycleKinds(), checkContract())
	}
	os.Exit(code)
}

// remembered counts the remembered values that text holds, in any case. It
// names none of them: a failure message must not leak them either.
func remembered(text string) int {
	lower, n := strings.ToLower(text), 0
	sensitive.Range(func(k, _ any) bool {
		if strings.Contains(lower, strings.ToLower(k.(string))) {
			n++
		}
		return true
	})
	return n
}

// checkLogs fails the run if any captured log line holds a remembered value.
func checkLogs() int {
	out := logs.String()
	lines := strings.Count(out, "\n")
	leaks := remembered(out)
	if leaks > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: log lines hold %d of the suite's passwords, tokens or email addresses\n", leaks)
	}
	if lines < 10 {
		fmt.Fprintf(os.Stderr, "FAIL: only %d log lines captured; the log check proves nothing\n", lines)
		return 1
	}
	if leaks > 0 {
		return 1
	}
	fmt.Printf("log check: %d lines captured, none holds any of the suite's passwords, tokens or addresses\n", lines)
	return 0
}

// checkContract fails the run if any round trip did not match the contract
// (each also failed the test that made it), or if none was checked.
func checkContract() int {
	failures := contract.Failures()
	for _, f := range failures {
		fmt.Fprintln(os.Stderr, "FAIL:", f)
	}
	if len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d of %d round trips do not match infra/openapi/openapi.yaml\n", len(failures), contract.Checked())
		return 1
	}
	if contract.Checked() < 10 {
		fmt.Fprintf(os.Stderr, "FAIL: only %d round trips checked against the contract; the check proves nothing\n", contract.Checked())
		return 1
	}
	fmt.Printf("contract check: %d round trips over %d operations match infra/openapi/openapi.yaml\n", contract.Checked(), len(contract.Seen()))
	return 0
}

// api returns the base URL of the whole API on the package's stack.
func api(t testing.TB) string {
	t.Helper()
	apiOnce.Do(func() {
		theStack = testenv.NewStack(t)
		h, err := gateway.New(context.Background(), func(fn string) coldstart.Env {
			return theStack.ColdstartEnv(fn, logs, map[string]string{
				"LOG_LEVEL": "debug",
				// Every test request comes from 127.0.0.1: per-client limits are
				// proven in the auth package's own tests, not here.
				"RATE_LIMIT_LOGIN": "100000", "RATE_LIMIT_SIGNUP": "100000",
				"RATE_LIMIT_VERIFY": "100000", "RATE_LIMIT_PASSWORD": "100000", "MAIL_CAP_PER_ADDRESS": "1000",
			})
		})
		if err != nil {
			apiErr = err
			return
		}
		internal, _, err := gateway.NewInternal(context.Background(), func(fn string) coldstart.Env {
			return theStack.ColdstartEnv(fn, logs, map[string]string{"LOG_LEVEL": "debug"})
		})
		if err != nil {
			apiErr = err
			return
		}
		internalURL = httptest.NewServer(internal).URL
		// The state table's stream starts each accepted deletion, as the
		// event source mapping does in AWS. Never closed: the package's
		// stack lives as long as the test binary.
		if _, err := gateway.StartStreams(context.Background(), gateway.StreamOptions{
			RepoRoot: testenv.RepoRoot(t), DynamoDBEndpoint: theStack.DynamoDBEndpoint, Tables: theStack.Tables,
			Env: func(fn string) coldstart.Env {
				return theStack.ColdstartEnv(fn, logs, map[string]string{"LOG_LEVEL": "debug"})
			},
			Logger: logging.New(logs, slog.LevelDebug),
		}); err != nil {
			apiErr = err
			return
		}
		// API Gateway's CORS rules, read from template.yaml with the stack's parameters.
		if h, err = gateway.WithCORS(h, filepath.Join(testenv.RepoRoot(t), "template.yaml"), theStack.Parameters()); err != nil {
			apiErr = err
			return
		}
		srv := httptest.NewServer(h)
		if contract, err = openapi.NewChecker(srv.URL); err != nil {
			apiErr = err
			return
		}
		apiClient = contract.Client(http.DefaultClient)
		apiURL = srv.URL
	})
	if apiErr != nil {
		t.Fatalf("start API: %v", apiErr)
	}
	if apiURL == "" {
		t.Fatal("the local API did not start: see the first failing test (run with `make test`)")
	}
	return apiURL
}

// response is an HTTP answer with its body decoded loosely.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

func (r response) str(path ...string) string {
	var v any = r.JSON
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

type request struct {
	method, path string
	body         any // string is sent as is; anything else as JSON
	header       map[string]string
	cookie       *http.Cookie
	// from, when not zero, sends from the loopback address testenv.LoopbackAddr(from-1).
	from int
	// malformed marks a request a test makes invalid on purpose: the
	// contract check skips the request and still checks the answer.
	malformed bool
}

func do(t testing.TB, rq request) response {
	t.Helper()
	var body io.Reader
	switch b := rq.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(rq.method, api(t)+rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	if rq.cookie != nil {
		req.AddCookie(rq.cookie)
	}
	if rq.malformed {
		req = req.WithContext(openapi.SkipRequestValidation(req.Context()))
	}
	client := apiClient
	if rq.from > 0 {
		client = loopbackClient(rq.from - 1)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out.JSON)
	}
	return out
}

// loopbackClient is testenv.LoopbackClient(i), its round trips checked
// against the contract.
func loopbackClient(i int) *http.Client { return contract.Client(testenv.LoopbackClient(i)) }

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// wantProblem asserts an RFC 9457 problem with the status and code.
func wantProblem(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("code") != code {
		t.Fatalf("got %d %s, want %d problem %q", r.Status, r.Raw, status, code)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("problem content type %q", ct)
	}
	if r.str("type") != "https://atrium.dev/problems/"+code || r.str("request_id") != r.Header.Get("X-Request-Id") || r.str("detail") == "" {
		t.Fatalf("problem document incomplete: %s", r.Raw)
	}
}

// strongPassword returns a fresh password that meets the policy.
func strongPassword(t testing.TB) string {
	t.Helper()
	p := "plum-" + strings.ToLower(strings.TrimPrefix(testenv.Email(t), "")[:10]) + "-Harbor-91-lantern"
	remember(p)
	return p
}

// newAddress returns a fresh address, remembered as sensitive.
func newAddress(t testing.TB) string {
	t.Helper()
	a := testenv.Email(t)
	remember(a)
	return a
}

// signUpAndVerify creates an active account and returns its session token.
func signUpAndVerify(t testing.TB, email, password string) (token string, account map[string]any) {
	t.Helper()
	r := do(t, request{method: "POST", path: "/v1/signup", body: map[string]string{"email": email}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("signup: %d %s", r.Status, r.Raw)
	}
	mails := testenv.WaitForMails(t, email, 1)
	vt := testenv.LinkToken(t, mails[0])
	remember(vt)
	r = do(t, request{method: "POST", path: "/v1/signup/verify", body: map[string]string{"token": vt, "password": password}})
	if r.Status != http.StatusCreated {
		t.Fatalf("verify: %d %s", r.Status, r.Raw)
	}
	token = r.str("session", "token")
	remember(token)
	account, _ = r.JSON["account"].(map[string]any)
	return token, account
}

// readableBucket serves a bucket the keys may read, for registering a
// source, until the test ends; the keys are remembered as secrets the logs
// must never hold. It returns the bucket's endpoint, and the bucket (to
// count what was written to it).
func readableBucket(t testing.TB, name, keyID, secret string) (string, *fakes3.Server) {
	t.Helper()
	bucket := fakes3.New()
	if err := bucket.CreateBucket(name); err != nil {
		t.Fatal(err)
	}
	remember(keyID, secret)
	bucket.Grant(keyID, name)
	s3 := httptest.NewServer(bucket)
	t.Cleanup(s3.Close)
	return s3.URL, bucket
}
