package authapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
	"github.com/atrium-cdn/atrium/shared/password"
)

// dynamoCounter is a reverse proxy in front of DynamoDB Local that records
// the operation of every call made through it (the X-Amz-Target header),
// so a test counts a request's DynamoDB calls on the real client, through
// the function as functions/auth/main.go builds it.
type dynamoCounter struct {
	srv *httptest.Server
	mu  sync.Mutex
	ops []string
	// delay is added to every call: a network round trip's stand-in.
	delay time.Duration
}

func newDynamoCounter(t testing.TB, endpoint string) *dynamoCounter {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c := &dynamoCounter{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		c.mu.Lock()
		c.ops = append(c.ops, op[strings.LastIndex(op, ".")+1:])
		c.mu.Unlock()
		time.Sleep(c.delay)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// reset returns the operations recorded since the last reset, sorted.
func (c *dynamoCounter) reset() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.ops
	c.ops = nil
	slices.Sort(ops)
	return ops
}

// lambdaPath is the auth function as its Lambda entry point serves it:
// authapi.New over the stack's environment (request log included), behind
// the lambdahttp adapter.
type lambdaPath func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// newLambdaPath builds the function against the fixture's stack; a
// non-empty dynamo endpoint replaces the stack's (a dynamoCounter).
func newLambdaPath(t testing.TB, f *fixture, dynamo string) lambdaPath {
	t.Helper()
	overrides := map[string]string{"RATE_LIMIT_LOGIN": "100000"}
	if dynamo != "" {
		overrides["AWS_ENDPOINT_URL_DYNAMODB"] = dynamo
	}
	h, err := New(context.Background(), f.stack.ColdstartEnv("auth", io.Discard, overrides))
	if err != nil {
		t.Fatal(err)
	}
	return lambdahttp.Handler(h)
}

// loginEvent is an API Gateway event of POST /v1/login from the client ip.
func loginEvent(email, pass, ip string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/v1/login", Body: creds(email, pass),
		Headers: map[string]string{"content-type": "application/json"}}
	ev.RequestContext.HTTP.Method = http.MethodPost
	ev.RequestContext.HTTP.Path = "/v1/login"
	ev.RequestContext.HTTP.SourceIP = ip
	ev.RequestContext.DomainName = "api.example.com"
	return ev
}

func (p lambdaPath) login(t testing.TB, email, pass, ip string) int {
	t.Helper()
	res, err := p(context.Background(), loginEvent(email, pass, ip))
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode
}

// TestLoginCallsDoNotDependOnTheAccount counts the DynamoDB calls of a
// failed login, through the function's whole request path: an unknown
// address, one pending verification and a wrong password for an active
// account must make the same calls (nothing a stranger can time or count
// tells them apart). It also states a successful login's calls.
func TestLoginCallsDoNotDependOnTheAccount(t *testing.T) {
	f := newFixture(t, io.Discard)
	counter := newDynamoCounter(t, f.stack.DynamoDBEndpoint)
	path := newLambdaPath(t, f, counter.srv.URL)
	active, pending := testenv.Email(t), testenv.Email(t)
	f.activeAccount(t, active)
	f.signupLink(t, pending)
	counter.reset()

	calls := map[string][]string{}
	for i, c := range []struct{ name, email, pass string }{
		{"unknown", testenv.Email(t), strong},
		{"pending", pending, strong},
		{"wrong password", active, "wrong-" + strong},
	} {
		if s := path.login(t, c.email, c.pass, "192.0.2."+string(rune('1'+i))); s != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", c.name, s)
		}
		calls[c.name] = counter.reset()
	}
	if !slices.Equal(calls["unknown"], calls["pending"]) || !slices.Equal(calls["unknown"], calls["wrong password"]) {
		t.Fatalf("DynamoDB calls differ:\nunknown:        %v\npending:        %v\nwrong password: %v",
			calls["unknown"], calls["pending"], calls["wrong password"])
	}
	t.Logf("failed login: %d calls %v", len(calls["unknown"]), calls["unknown"])
	if s := path.login(t, active, strong, "192.0.2.9"); s != http.StatusOK {
		t.Fatalf("login: %d", s)
	}
	ok := counter.reset()
	t.Logf("successful login: %d calls %v", len(ok), ok)
	// The client's limit and the address's record side by side; the
	// address's slot; beside the hash, the account with its second
	// factors' summary items (one batch) and its TOTP factors (a query);
	// the session with the failures cleared (one transaction); the
	// request log.
	want := []string{"BatchGetItem", "GetItem", "PutItem", "Query", "TransactWriteItems", "UpdateItem", "UpdateItem"}
	if !slices.Equal(ok, want) {
		t.Fatalf("successful login made %v, want %v", ok, want)
	}
}

// BenchmarkLogin compares a whole login through the auth function's
// request path, as functions/auth/main.go builds it (the lambdahttp
// adapter, web.Wrap, routing, the handler, the request-log write), with one
// bare argon2id verification of the same stored hash. The two alternate in
// each iteration, so machine noise hits both alike; it reports the median
// of each, their ratio (target ≤ 1.15), the mean ratio, the DynamoDB calls
// of one login (counted once, through a counting proxy, before the timed
// loop) and the process's peak resident memory (target ≤ 64 MiB; an upper
// bound for one login, as it includes the whole test process).
//
// The default benchtime gives it a handful of iterations; a stable median
// needs -benchtime 200x (make bench runs it so).
func BenchmarkLogin(b *testing.B) { benchmarkLogin(b, 0) }

// BenchmarkLoginRemote is BenchmarkLogin with 4 ms added to every DynamoDB
// call (a proxy sleeps before forwarding it), a stand-in for the network
// round trip to DynamoDB in AWS: DynamoDB Local answers in-process work on
// this machine's two shared cores, so the login's round trips in a row
// (not its CPU) show here. Same -benchtime as BenchmarkLogin.
func BenchmarkLoginRemote(b *testing.B) { benchmarkLogin(b, 4*time.Millisecond) }

func benchmarkLogin(b *testing.B, rtt time.Duration) {
	f := newFixture(b, io.Discard)
	email := testenv.Email(b)
	f.activeAccount(b, email)
	ctx := context.Background()
	cred, err := f.store.Credential(ctx, email)
	if err != nil {
		b.Fatal(err)
	}
	bare, err := password.NewHasher(password.Default)
	if err != nil {
		b.Fatal(err)
	}
	counter := newDynamoCounter(b, f.stack.DynamoDBEndpoint)
	if s := newLambdaPath(b, f, counter.srv.URL).login(b, email, strong, "192.0.2.1"); s != http.StatusOK {
		b.Fatalf("login: %d", s)
	}
	calls := len(counter.reset())
	dynamo := ""
	if rtt > 0 {
		counter.delay = rtt
		dynamo = counter.srv.URL
	}
	path := newLambdaPath(b, f, dynamo)
	path.login(b, email, strong, "192.0.2.1") // warm the clients' connections
	ev := loginEvent(email, strong, "192.0.2.1")

	var logins, verifies []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		res, err := path(ctx, ev)
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("login: %v %d %s", err, res.StatusCode, res.Body)
		}
		logins = append(logins, time.Since(start))
		start = time.Now()
		if ok, _, _ := bare.Verify(strong, cred.PasswordHash); !ok {
			b.Fatal("verify failed")
		}
		verifies = append(verifies, time.Since(start))
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	lm, vm := median(logins), median(verifies)
	b.ReportMetric(ms(lm), "login-ms/op")
	b.ReportMetric(ms(vm), "argon2id-ms/op")
	b.ReportMetric(float64(lm)/float64(vm), "login/argon2id")
	b.ReportMetric(float64(sum(logins))/float64(sum(verifies)), "mean-login/argon2id")
	b.ReportMetric(float64(calls), "dynamodb-calls/login")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// TestRightPasswordClearsFailures: a right password clears the address's
// failures (this attempt's included) in the write that starts the
// session, and, for an account with a second factor, in the write that
// stores the challenge, before any factor is proven; the methods the
// challenge offers are the account's.
func TestRightPasswordClearsFailures(t *testing.T) {
	f := newFixture(t, io.Discard)
	plain := testenv.Email(t)
	f.activeAccount(t, plain)
	withTOTP := f.newMFAUser(t)
	for _, email := range []string{plain, withTOTP.email} {
		for range 3 {
			if s, _, _ := f.call(t, http.MethodPost, "/v1/login", creds(email, "wrong-"+strong), "", ""); s != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", s)
			}
		}
		if n := f.failures(t, email).Count; n != 3 {
			t.Fatalf("%d failures counted, want 3", n)
		}
		s, _, out := f.call(t, http.MethodPost, "/v1/login", creds(email, strong), "", "")
		if s != http.StatusOK {
			t.Fatalf("login: %d %v", s, out)
		}
		if email == withTOTP.email {
			methods, _ := out["methods"].([]any)
			if out["mfa_required"] != true || len(methods) != 2 || methods[0] != "totp" || methods[1] != "recovery_code" {
				t.Fatalf("login with a second factor: %v, want mfa_required with methods [totp recovery_code]", out)
			}
		}
		if n := f.failures(t, email).Count; n != 0 {
			t.Fatalf("%d failures left after the right password, want 0", n)
		}
	}
}
