package complianceapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/web"
)

// sessionPolicy is the default session policy, which New reads from an
// environment without SESSION_* variables.
var sessionPolicy = identity.SessionPolicy{IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour}

// fixture is the compliance function built by New from the local stack's
// environment, as in Lambda, over DynamoDB Local, the local Secrets Manager
// (SMTP login, pseudonym key) and Mailpit, on a clock the test moves.
type fixture struct {
	stack    *stack.Stack
	clock    *testenv.Clock
	db       *dynamodb.Client
	table    string
	handler  http.Handler
	accounts *identity.Store
	billing  *billing.Store
	records  *compliance.Store
	logs     *testenv.LogBuffer
	// manager and agent are this fixture's own addresses in Mailpit.
	manager, agent string
}

// newFixture builds the function; env overrides the stack's variables.
func newFixture(t testing.TB, env map[string]string) *fixture {
	t.Helper()
	st := testenv.NewStack(t)
	f := &fixture{stack: st, clock: testenv.NewClock(time.Now().UTC().Truncate(time.Millisecond)),
		db: stack.DynamoDBClient(st.DynamoDBEndpoint), table: st.Tables["StateTable"], logs: &testenv.LogBuffer{},
		manager: testenv.Email(t), agent: testenv.Email(t)}
	f.accounts = identity.NewStore(f.db, f.table, f.clock.Now)
	f.billing = billing.NewStore(f.db, f.table, f.clock.Now)
	f.records = compliance.NewStore(f.db, f.table, f.clock.Now)
	f.handler = f.build(t, env)
	return f
}

// build makes another instance of the function over the same stack, clock
// and logs (a cold start with other configuration).
func (f *fixture) build(t testing.TB, env map[string]string) http.Handler {
	t.Helper()
	vars := map[string]string{"ACCOUNT_MANAGER_EMAIL": f.manager, "DMCA_EMAIL": f.agent, "NDA_VERSION": "2026-01"}
	for k, v := range env {
		vars[k] = v
	}
	e := f.stack.ColdstartEnv("compliance", f.logs, vars)
	e.Now = f.clock.Now
	h, err := New(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// account creates an active standard account and a session token for it.
func (f *fixture) account(t testing.TB) (id, token string) {
	t.Helper()
	id = testenv.ActiveAccount(t, f.accounts, f.clock.Now())
	_, token, err := f.accounts.CreateSession(context.Background(), id, sessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return id, token
}

// makePremium gives the account an active premium subscription as the
// Stripe webhook writes it: a linked customer, then the state read from Stripe.
func (f *fixture) makePremium(t testing.TB, id string, st billing.State, graceUntil time.Time) {
	t.Helper()
	ctx := context.Background()
	rec, err := f.billing.Record(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	cus := rec.StripeCustomerID
	if cus == "" {
		cus = "cus_compliance" + strings.TrimPrefix(id, "acct_")
		if err := f.billing.Link(ctx, id, cus); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := f.billing.Apply(ctx, id, cus, st, f.clock.Now().UnixMilli(), graceUntil); !ok || err != nil {
		t.Fatalf("apply billing state: %v %v", ok, err)
	}
}

var activePremium = billing.State{Plan: plans.Premium, Status: "active", SubscriptionID: "sub_compliance"}

// request is one call to a handler.
type request struct {
	method, path, token, body string
	remote                    string // the client's address; httptest's default when empty
}

func serve(h http.Handler, q request) *httptest.ResponseRecorder {
	r := httptest.NewRequest(q.method, q.path, strings.NewReader(q.body))
	if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func (f *fixture) call(method, path, token, body string) *httptest.ResponseRecorder {
	return serve(f.handler, request{method: method, path: path, token: token, body: body})
}

func decodeAs[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	return v
}

// problem returns the answer's status and problem code.
func problem(t testing.TB, w *httptest.ResponseRecorder) (int, string) {
	t.Helper()
	if w.Code < 400 {
		return w.Code, ""
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%d with content type %q: %s", w.Code, ct, w.Body)
	}
	return w.Code, decodeAs[web.Problem](t, w).Code
}
