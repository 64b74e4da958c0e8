package stripewebhookapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/billing/billingtest"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Made-up signing secrets of the tests' webhook endpoint: two, as during a roll.
// #nosec G101 -- test values, not credentials
const (
	secretA      = "whsec_test_first_signing_secret_0001"
	secretB      = "whsec_test_second_signing_secret_002"
	premiumPrice = "price_test_premium"
	otherPrice   = "price_test_other"
	grace        = 72 * time.Hour
)

// fixture is the webhook handler over DynamoDB Local with a Stripe double
// (stripe-mock cannot hold subscription states), behind the shared
// middleware as in Lambda.
type fixture struct {
	backend  *billingtest.Backend
	clock    *testenv.Clock
	db       statetable.DynamoDB
	client   *dynamodb.Client // the unwrapped client, for the tests' own reads
	table    string
	svc      *Service
	handler  http.Handler
	accounts *identity.Store
	store    *billing.Store
	logs     *testenv.LogBuffer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st := testenv.NewStack(t)
	client := stack.DynamoDBClient(st.DynamoDBEndpoint)
	return newFixtureOn(t, client, client, st.Tables["StateTable"])
}

// newFixtureOn builds the handler over db, which a test may wrap around
// client to inject faults.
func newFixtureOn(t testing.TB, client *dynamodb.Client, db statetable.DynamoDB, table string) *fixture {
	t.Helper()
	f := &fixture{backend: billingtest.New(), clock: testenv.NewClock(time.Now().UTC().Truncate(time.Millisecond)),
		db: db, client: client, table: table, logs: &testenv.LogBuffer{}}
	logger := logging.New(f.logs, slog.LevelDebug)
	f.store = billing.NewStore(db, table, f.clock.Now)
	f.accounts = identity.NewStore(db, table, f.clock.Now)
	f.svc = &Service{
		Secrets: []string{secretA, secretB}, Tolerance: webhook.DefaultTolerance,
		Ledger: billing.NewLedger(db, table, f.clock.Now),
		Syncer: &billing.Syncer{Stripe: billing.NewStripeWithBackend("sk_test_webhook_fixture", f.backend),
			Store: f.store, PremiumPrice: premiumPrice, Grace: grace},
		Logger: logger, Metrics: f.logs, FunctionName: "stripewebhook", Now: f.clock.Now,
	}
	f.handler = web.Wrap(f.svc.Routes(), web.Options{Logger: logger, Function: "stripewebhook", MaxBody: MaxBody})
	return f
}

// customer creates an active account linked to a new Stripe customer.
func (f *fixture) customer(t testing.TB) (acctID, cusID string) {
	t.Helper()
	acctID = testenv.ActiveAccount(t, f.accounts, f.clock.Now())
	cusID = f.backend.AddCustomer()
	if err := f.store.Link(context.Background(), acctID, cusID); err != nil {
		t.Fatal(err)
	}
	return acctID, cusID
}

// subscriber is a new customer's account with one subscription at Stripe,
// named after the customer.
func (f *fixture) subscriber(t testing.TB, status stripe.SubscriptionStatus, price string) (acctID, cusID, subID string) {
	t.Helper()
	acctID, cusID = f.customer(t)
	subID = "sub_" + cusID[4:]
	f.subscribe(cusID, subID, status, price)
	return acctID, cusID, subID
}

// subscribe sets the customer's one subscription at Stripe.
func (f *fixture) subscribe(cusID, subID string, status stripe.SubscriptionStatus, price string) {
	f.backend.SetSubscription(billingtest.Subscription{ID: subID, Customer: cusID, Status: status, PriceID: price,
		Created: f.clock.Now().Unix(), CurrentPeriodEnd: f.clock.Now().Add(30 * 24 * time.Hour).Unix()})
}

var eventN atomic.Int64

// newEventID returns an event id no other test uses.
func newEventID() string {
	return fmt.Sprintf("evt_test%d_%s", eventN.Add(1), strings.TrimPrefix(ids.New("x"), "x_")[:10])
}

// eventBody builds an event of the type about the customer, as Stripe sends
// it (in another API version than stripe-go's, which must not matter).
func eventBody(id, typ, cusID, subID string) []byte {
	var obj map[string]any
	switch {
	case typ == "customer.deleted":
		obj = map[string]any{"id": cusID, "object": "customer", "deleted": true}
	case strings.HasPrefix(typ, "customer.subscription."):
		obj = map[string]any{"id": subID, "object": "subscription", "customer": cusID, "status": "active"}
	case strings.HasPrefix(typ, "invoice."):
		obj = map[string]any{"id": "in_" + id[4:], "object": "invoice", "customer": cusID, "subscription": subID}
	case typ == "checkout.session.completed":
		obj = map[string]any{"id": "cs_" + id[4:], "object": "checkout.session", "mode": "subscription",
			"customer": map[string]any{"id": cusID, "object": "customer"}, "subscription": subID}
	default:
		obj = map[string]any{"id": "obj_" + id[4:], "object": "unknown"}
	}
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "api_version": "2025-03-31.basil",
		"created": 1764201600, "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": obj}})
	return b
}

// sign returns a Stripe-Signature header for body, signed at t with secret.
func sign(body []byte, secret string, t time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: t}).Header
}

// deliver posts body signed with header, as Stripe does.
func (f *fixture) deliver(body []byte, header string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/stripe", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	if header != "" {
		r.Header.Set("Stripe-Signature", header)
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

// send signs and delivers an event of the type; it returns the response.
func (f *fixture) send(id, typ, cusID, subID string) *httptest.ResponseRecorder {
	body := eventBody(id, typ, cusID, subID)
	return f.deliver(body, sign(body, secretA, time.Now()))
}

// outcome is the outcome field of a 200 answer, or the problem's code.
func outcome(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var v struct{ Outcome, Code string }
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer %d is not JSON: %s", w.Code, w.Body)
	}
	if w.Code == http.StatusOK {
		return v.Outcome
	}
	return v.Code
}

// record reads the account's billing as stored.
func (f *fixture) record(t testing.TB, acctID string) *billing.Record {
	t.Helper()
	r, err := f.store.Record(context.Background(), acctID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// eventRecords counts the ledger's items.
func (f *fixture) eventRecords(t testing.TB) int {
	t.Helper()
	out, err := f.client.Scan(context.Background(), &dynamodb.ScanInput{TableName: &f.table})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range out.Items {
		var k struct {
			PK string `dynamodbav:"pk"`
		}
		if err := attributevalue.UnmarshalMap(it, &k); err == nil && strings.HasPrefix(k.PK, "STRIPE_EVENT#") {
			n++
		}
	}
	return n
}

func billingState(plan, status string) billing.State {
	return billing.State{Plan: plan, Status: status}
}

func accountKey(id string) map[string]types.AttributeValue { return identity.AccountKey(id).AV() }

// failingUpdates fails the next UpdateItem (the write of the billing state)
// when asked, as an outage would.
type failingUpdates struct {
	statetable.DynamoDB
	failNext atomic.Bool
}

func (f *failingUpdates) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.failNext.CompareAndSwap(true, false) {
		return nil, errors.New("injected: DynamoDB unavailable")
	}
	return f.DynamoDB.UpdateItem(ctx, in, opts...)
}
