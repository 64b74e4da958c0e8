package billingapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/billing/billingtest"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/web"
)

var sessionPolicy = identity.SessionPolicy{IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour}

// fixture is the billing function over DynamoDB Local, with either
// stripe-mock (built by New from the stack's environment, as in Lambda) or
// a stripe.Backend double that can count and hold state.
type fixture struct {
	stack    *stack.Stack
	db       *dynamodb.Client
	table    string
	handler  http.Handler
	accounts *identity.Store
	store    *billing.Store
	backend  *billingtest.Backend // nil with stripe-mock
	logs     *testenv.LogBuffer
}

func newFixture(t *testing.T, double bool) *fixture {
	t.Helper()
	st := testenv.NewStack(t)
	env := st.Env("billing")
	f := &fixture{stack: st, db: stack.DynamoDBClient(st.DynamoDBEndpoint), table: env["STATE_TABLE"], logs: &testenv.LogBuffer{}}
	f.accounts = identity.NewStore(f.db, f.table, nil)
	f.store = billing.NewStore(f.db, f.table, nil)
	if !double {
		h, err := New(context.Background(), st.ColdstartEnv("billing", f.logs, nil))
		if err != nil {
			t.Fatal(err)
		}
		f.handler = h
		return f
	}
	f.backend = billingtest.New()
	logger := logging.New(f.logs, slog.LevelDebug)
	s := &Service{Stripe: billing.NewStripeWithBackend("sk_test_billingfixture", f.backend), Store: f.store,
		PriceID: "price_test_premium", AppURL: "https://app.example", Logger: logger}
	f.handler = web.Wrap(s.Routes(identity.NewAuthenticator(f.accounts, sessionPolicy, nil)), web.Options{Logger: logger, Function: "billing"})
	return f
}

// account creates an active account and a session token for it.
func (f *fixture) account(t *testing.T) (string, string) {
	t.Helper()
	id := testenv.ActiveAccount(t, f.accounts, time.Now())
	_, token, err := f.accounts.CreateSession(context.Background(), id, sessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return id, token
}

func (f *fixture) call(method, path, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	return v
}

// customerLinks returns every Stripe customer link item of the table.
func (f *fixture) customerLinks(t *testing.T) map[string]string {
	t.Helper()
	out, err := f.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: &f.table})
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, it := range out.Items {
		var k struct {
			PK        string `dynamodbav:"pk"`
			AccountID string `dynamodbav:"account_id"`
		}
		if err := attributevalue.UnmarshalMap(it, &k); err == nil && strings.HasPrefix(k.PK, "STRIPE_CUSTOMER#") {
			links[strings.TrimPrefix(k.PK, "STRIPE_CUSTOMER#")] = k.AccountID
		}
	}
	return links
}

func TestCheckoutAndPortalAgainstStripeMock(t *testing.T) {
	f := newFixture(t, false)
	acct, token := f.account(t)

	if w := f.call("POST", "/v1/billing/portal", token, ""); w.Code != http.StatusConflict || decode[web.Problem](t, w).Code != "no_billing_account" {
		t.Fatalf("portal before checkout: %d %s", w.Code, w.Body)
	}
	w := f.call("POST", "/v1/billing/checkout", token, `{"plan":"premium"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("checkout: %d %s", w.Code, w.Body)
	}
	if u := decode[URLResponse](t, w).URL; !strings.HasPrefix(u, "https://checkout.stripe.com/") {
		t.Errorf("checkout url %q", u)
	}
	rec, err := f.store.Record(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.StripeCustomerID, "cus_") {
		t.Fatalf("no customer linked: %+v", rec)
	}
	if links := f.customerLinks(t); len(links) != 1 || links[rec.StripeCustomerID] != acct {
		t.Errorf("links %v, want %s → %s", links, rec.StripeCustomerID, acct)
	}
	// A second checkout reuses the customer.
	if w := f.call("POST", "/v1/billing/checkout", token, `{"plan":"premium"}`); w.Code != http.StatusOK {
		t.Fatalf("second checkout: %d %s", w.Code, w.Body)
	}
	if again, _ := f.store.Record(context.Background(), acct); again.StripeCustomerID != rec.StripeCustomerID {
		t.Errorf("the second checkout changed the customer to %s", again.StripeCustomerID)
	}
	w = f.call("POST", "/v1/billing/portal", token, "")
	if w.Code != http.StatusOK || !strings.HasPrefix(decode[URLResponse](t, w).URL, "https://") {
		t.Fatalf("portal: %d %s", w.Code, w.Body)
	}
	v := decode[View](t, f.call("GET", "/v1/billing", token, ""))
	if v.Plan != plans.Standard || v.SubscriptionStatus != billing.StatusNone || v.CurrentPeriodEnd != nil {
		t.Errorf("billing before any webhook: %+v", v)
	}
}

func TestRequestsAreCheckedFirst(t *testing.T) {
	f := newFixture(t, true)
	_, token := f.account(t)
	for _, tc := range []struct {
		method, path, token, body string
		status                    int
		code                      string
	}{
		{"GET", "/v1/billing", "", "", 401, "unauthenticated"},
		{"POST", "/v1/billing/checkout", "", `{"plan":"premium"}`, 401, "unauthenticated"},
		{"POST", "/v1/billing/portal", "bogus", "", 401, "unauthenticated"},
		{"POST", "/v1/billing/checkout", token, `{"plan":"standard"}`, 400, "validation_failed"},
		{"POST", "/v1/billing/checkout", token, `{"plan":"premium","card":"4242424242424242"}`, 400, "validation_failed"},
		{"POST", "/v1/billing/checkout", token, `{}`, 400, "validation_failed"},
		{"POST", "/v1/billing/checkout", token, `[1]`, 400, "malformed_json"},
		{"POST", "/v1/billing/checkout", token, `{"plan":"` + strings.Repeat("p", 20000) + `"}`, 413, "body_too_large"},
	} {
		w := f.call(tc.method, tc.path, tc.token, tc.body)
		if p := decode[web.Problem](t, w); w.Code != tc.status || p.Code != tc.code {
			t.Errorf("%s %s %.40s: %d %s, want %d %s", tc.method, tc.path, tc.body, w.Code, p.Code, tc.status, tc.code)
		}
	}
	if n := f.backend.Calls("POST /v1/customers"); n != 0 {
		t.Errorf("refused requests created %d customers", n)
	}
	if links := f.customerLinks(t); len(links) != 0 {
		t.Errorf("refused requests linked customers: %v", links)
	}
}

func TestConcurrentFirstCheckoutsMakeOneCustomer(t *testing.T) {
	for _, double := range []bool{true, false} {
		t.Run(map[bool]string{true: "idempotent Stripe double", false: "stripe-mock, which ignores idempotency keys"}[double], func(t *testing.T) {
			f := newFixture(t, double)
			acct, token := f.account(t)
			var wg sync.WaitGroup
			codes := make([]int, 8)
			for i := range codes {
				wg.Go(func() { codes[i] = f.call("POST", "/v1/billing/checkout", token, `{"plan":"premium"}`).Code })
			}
			wg.Wait()
			for _, c := range codes {
				if c != http.StatusOK {
					t.Fatalf("answers %v", codes)
				}
			}
			rec, err := f.store.Record(context.Background(), acct)
			if err != nil {
				t.Fatal(err)
			}
			links := f.customerLinks(t)
			if len(links) != 1 || links[rec.StripeCustomerID] != acct {
				t.Errorf("account's customer %q, links %v: want exactly one, both ways", rec.StripeCustomerID, links)
			}
			if double && len(f.backend.Customers()) != 1 {
				t.Errorf("Stripe holds %d customers: %v", len(f.backend.Customers()), f.backend.Customers())
			}
		})
	}
}

func TestStripeDownChangesNothing(t *testing.T) {
	f := newFixture(t, true)
	acct, token := f.account(t)
	f.backend.Fail = func(method, path string) error { return fmt.Errorf("connection refused") }
	w := f.call("POST", "/v1/billing/checkout", token, `{"plan":"premium"}`)
	if p := decode[web.Problem](t, w); w.Code != http.StatusBadGateway || p.Code != "billing_unavailable" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if rec, _ := f.store.Record(context.Background(), acct); rec.StripeCustomerID != "" {
		t.Errorf("linked %s while Stripe was down", rec.StripeCustomerID)
	}
}

func TestPremiumAccountsGoToThePortal(t *testing.T) {
	f := newFixture(t, true)
	acct, token := f.account(t)
	if w := f.call("POST", "/v1/billing/checkout", token, `{"plan":"premium"}`); w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	rec, _ := f.store.Record(context.Background(), acct)
	end := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second).UTC()
	st := billing.State{Plan: plans.Premium, Status: "active", SubscriptionID: "sub_1", CurrentPeriodEnd: end.Unix(), CancelAtPeriodEnd: true}
	if ok, err := f.store.Apply(context.Background(), acct, rec.StripeCustomerID, st, time.Now().UnixMilli(), time.Now()); !ok || err != nil {
		t.Fatal(ok, err)
	}
	v := decode[View](t, f.call("GET", "/v1/billing", token, ""))
	if v.Plan != plans.Premium || v.SubscriptionStatus != "active" || v.CurrentPeriodEnd == nil || !v.CurrentPeriodEnd.Equal(end) || !v.CancelAtPeriodEnd {
		t.Errorf("view %+v", v)
	}
	w := f.call("POST", "/v1/billing/checkout", token, `{"plan":"premium"}`)
	if p := decode[web.Problem](t, w); w.Code != http.StatusConflict || p.Code != "already_subscribed" {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if logs := f.logs.String(); strings.Contains(logs, "sk_test") || strings.Contains(logs, "@example.com") {
		t.Errorf("logs hold a key or an address: %s", logs)
	}
}
