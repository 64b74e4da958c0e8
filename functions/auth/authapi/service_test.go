package authapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/mail"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys/ceremony"
	"github.com/atrium-cdn/atrium/shared/password"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/throttle"
	"github.com/atrium-cdn/atrium/shared/web"
)

// countingHasher records the hashing work the service asks for.
type countingHasher struct {
	real *password.Hasher
	mu   sync.Mutex
	hash int
	// verified lists the parameter part ("m=…,t=…,p=…") of every hash verified.
	verified []string
}

func (c *countingHasher) Hash(p string) (string, error) {
	c.mu.Lock()
	c.hash++
	c.mu.Unlock()
	return c.real.Hash(p)
}

func (c *countingHasher) Verify(p, encoded string) (bool, bool, error) {
	c.mu.Lock()
	parts := strings.Split(encoded, "$")
	params := "unparsed"
	if len(parts) > 3 {
		params = parts[1] + "/" + parts[3]
	}
	c.verified = append(c.verified, params)
	c.mu.Unlock()
	return c.real.Verify(p, encoded)
}

func (c *countingHasher) DecoyHash() (string, error) { return c.real.DecoyHash() }

func (c *countingHasher) reset() (hashes int, verified []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hashes, verified = c.hash, c.verified
	c.hash, c.verified = 0, nil
	return hashes, verified
}

// countingMail counts messages and passes them on to Mailpit.
type countingMail struct {
	next mail.Sender
	mu   sync.Mutex
	sent int
}

func (c *countingMail) Send(ctx context.Context, m mail.Message) error {
	c.mu.Lock()
	c.sent++
	c.mu.Unlock()
	return c.next.Send(ctx, m)
}

func (c *countingMail) reset() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.sent
	c.sent = 0
	return n
}

type fixture struct {
	svc     *Service
	handler http.Handler
	hasher  *countingHasher
	mail    *countingMail
	store   *identity.Store
	srv     *httptest.Server
	clock   *clock
	stack   *stack.Stack
	// passkeys is the service's passkeys, at the local relying party
	// (localhost, http://localhost:5173).
	passkeys *ceremony.Service
}

// clock is the settable clock shared by a fixture's stores.
type clock = testenv.Clock

// options change a fixture's service from the defaults.
type options struct {
	throttle *throttle.Policy
	limits   *Limits
	breached BreachChecker
	// answerPause, when set, replaces the answer floor's timer;
	// otherwise the floor is off, so tests do not sleep.
	answerPause func(ctx context.Context, until time.Time)
	// mfaThrottle replaces the second factor's brake; stepUpWindow the
	// step-up window (default when zero).
	mfaThrottle  *throttle.Policy
	stepUpWindow time.Duration
}

// testSealer is a sealer under a fresh random key.
func testSealer(t testing.TB) *mfa.Sealer {
	t.Helper()
	s, err := mfa.NewSealer([]byte(ids.Secret()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newFixture(t testing.TB, logs io.Writer) *fixture {
	t.Helper()
	return newFixtureWith(t, logs, options{})
}

func newFixtureWith(t testing.TB, logs io.Writer, o options) *fixture {
	t.Helper()
	st := testenv.NewStack(t)
	clk := testenv.NewClock(time.Now())
	real, err := password.NewHasher(password.Default)
	if err != nil {
		t.Fatal(err)
	}
	store := identity.NewStore(stack.DynamoDBClient(st.DynamoDBEndpoint), st.Tables["StateTable"], clk.Now)
	auth := identity.NewAuthenticator(store, identity.SessionPolicy{IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour}, nil)
	f := &fixture{
		hasher: &countingHasher{real: real},
		mail:   &countingMail{next: &mail.SMTP{Host: st.SMTPHost, Port: st.SMTPPort, From: stack.LocalMailFrom}},
		store:  store,
		clock:  clk,
		stack:  st,
	}
	keyer, err := pseudonym.New([]byte(ids.Secret()))
	if err != nil {
		t.Fatal(err)
	}
	generous := throttle.Limit{Max: 100000, Window: time.Minute}
	limits := Limits{Login: generous, Signup: generous, Verify: generous, Password: generous, Mail: generous}
	if o.limits != nil {
		limits = *o.limits
	}
	policy := throttle.DefaultPolicy()
	if o.throttle != nil {
		policy = *o.throttle
	}
	f.passkeys, err = ceremony.New(stack.DynamoDBClient(st.DynamoDBEndpoint), st.Tables["StateTable"], clk.Now,
		ceremony.Config{RPID: stack.LocalPasskeyRPID, Origins: []string{stack.LocalAppOrigin()}})
	if err != nil {
		t.Fatal(err)
	}
	mfaPolicy := MFAPolicy()
	if o.mfaThrottle != nil {
		mfaPolicy = *o.mfaThrottle
	}
	f.svc, err = NewService(Deps{Store: store, Auth: auth, Hasher: f.hasher, Policy: password.DefaultPolicy(),
		Mail: f.mail, AppURL: stack.LocalAppURL, Logger: logging.New(logs, slog.LevelInfo),
		Throttle: throttle.NewStore(stack.DynamoDBClient(st.DynamoDBEndpoint), st.Tables["StateTable"], policy, clk.Now),
		Keyer:    keyer, Limits: limits, Breached: o.breached, AnswerFloor: -1,
		Deletions: deletion.NewStore(stack.DynamoDBClient(st.DynamoDBEndpoint), st.Tables["StateTable"], clk.Now),
		Passkeys:  f.passkeys,
		MFA: MFADeps{Store: mfa.NewStore(stack.DynamoDBClient(st.DynamoDBEndpoint), st.Tables["StateTable"], testSealer(t), clk.Now),
			Throttle:     throttle.NewStore(stack.DynamoDBClient(st.DynamoDBEndpoint), st.Tables["StateTable"], mfaPolicy, clk.Now),
			StepUpWindow: o.stepUpWindow}})
	if o.answerPause != nil {
		f.svc.answerFloor, f.svc.pause = DefaultAnswerFloor, o.answerPause
	}
	if err != nil {
		t.Fatal(err)
	}
	f.handler = web.Wrap(f.svc.Handler(auth), web.Options{Logger: logging.New(logs, slog.LevelInfo), Function: "auth"})
	f.srv = httptest.NewServer(f.handler)
	t.Cleanup(f.srv.Close)
	f.hasher.reset()
	return f
}

// call sends a request straight to the handler, as the client at ip, with an
// optional bearer token, and returns the status, the Retry-After header
// (seconds, 0 when absent) and the decoded body.
func (f *fixture) call(t testing.TB, method, path, body, ip, bearer string) (status, retryAfter int, out map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if ip == "" {
		ip = "192.0.2.1"
	}
	req.RemoteAddr = ip + ":40000"
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if ra := rec.Header().Get("Retry-After"); ra != "" {
		if _, err := fmt.Sscan(ra, &retryAfter); err != nil {
			t.Fatalf("Retry-After %q", ra)
		}
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, retryAfter, out
}

func (f *fixture) post(t testing.TB, path, body string) int {
	t.Helper()
	resp, err := http.Post(f.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func signupBody(email string) string { return `{"email":"` + email + `"}` }

func verifyBody(token, pass string) string {
	return `{"token":"` + token + `","password":"` + pass + `"}`
}

// signupLink signs the address up and returns the token of the verification
// link it was sent (the address's first email).
func (f *fixture) signupLink(t testing.TB, email string) string {
	t.Helper()
	if s := f.post(t, "/v1/signup", signupBody(email)); s != http.StatusAccepted {
		t.Fatalf("signup: %d", s)
	}
	return testenv.LinkToken(t, testenv.WaitForMails(t, email, 1)[0])
}

func creds(email, pass string) string {
	return `{"email":"` + email + `","password":"` + pass + `"}`
}

const strong = "violet-harbor-quantum-88-lantern"

// activeAccount signs an address up with the strong password, verifies it
// through the service, and returns the session token verification started.
func (f *fixture) activeAccount(t testing.TB, email string) string {
	t.Helper()
	tok := f.signupLink(t, email)
	status, _, out := f.call(t, http.MethodPost, "/v1/signup/verify", verifyBody(tok, strong), "", "")
	if status != http.StatusCreated {
		t.Fatalf("verify: %d %v", status, out)
	}
	f.hasher.reset()
	f.mail.reset()
	sess, _ := out["session"].(map[string]any)
	token, _ := sess["token"].(string)
	return token
}

// TestSignupWorkIsTheSameForExistingAddresses proves structurally, not with a
// stopwatch, that a signup spends the same hashing and mail work whether or
// not the address has an account.
func TestSignupWorkIsTheSameForExistingAddresses(t *testing.T) {
	f := newFixture(t, io.Discard)
	existing := testenv.Email(t)
	f.activeAccount(t, existing)

	type work struct {
		status, hashes, verifies, mails int
	}
	measure := func(email string) work {
		s := f.post(t, "/v1/signup", signupBody(email))
		h, v := f.hasher.reset()
		return work{s, h, len(v), f.mail.reset()}
	}
	old, fresh := measure(existing), measure(testenv.Email(t))
	if old != fresh || old != (work{http.StatusAccepted, 0, 0, 1}) {
		t.Fatalf("existing address: %+v, new address: %+v; want both {202 0 0 1}: no hash, one email", old, fresh)
	}
}

// TestLoginWorkIsTheSameForUnknownAddresses proves that an unknown address
// costs one verification at the configured parameters, exactly like a wrong
// password for a real account.
func TestLoginWorkIsTheSameForUnknownAddresses(t *testing.T) {
	f := newFixture(t, io.Discard)
	known := testenv.Email(t)
	f.activeAccount(t, known)

	measure := func(email string) (int, int, []string) {
		s := f.post(t, "/v1/login", creds(email, "wrong-"+strong))
		h, v := f.hasher.reset()
		return s, h, v
	}
	s1, h1, v1 := measure(testenv.Email(t))
	s2, h2, v2 := measure(known)
	if s1 != http.StatusUnauthorized || s2 != http.StatusUnauthorized {
		t.Fatalf("statuses %d and %d, want 401 both", s1, s2)
	}
	if h1 != 0 || h2 != 0 || len(v1) != 1 || len(v2) != 1 || v1[0] != v2[0] {
		t.Fatalf("unknown address: %d hashes, verified %v; wrong password: %d hashes, verified %v", h1, v1, h2, v2)
	}
	want := "argon2id/m=19456,t=2,p=1"
	if v1[0] != want {
		t.Fatalf("verified at %s, want the configured %s", v1[0], want)
	}
}

// BenchmarkStateReads measures the DynamoDB round trips a login makes, on
// their own, to show where the handler's time beyond argon2id goes.
func BenchmarkStateReads(b *testing.B) {
	f := newFixture(b, io.Discard)
	email := testenv.Email(b)
	f.activeAccount(b, email)
	ctx := context.Background()
	b.Run("credential-read", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.store.Credential(ctx, email); err != nil {
				b.Fatal(err)
			}
		}
	})
}
