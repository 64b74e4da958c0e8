package complianceapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/atrium-cdn/atrium/functions/stripewebhook/stripewebhookapi"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/billing/billingtest"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Made-up values of the tests' Stripe webhook endpoint.
// #nosec G101 -- test values, not credentials
const (
	hookSecret   = "whsec_compliance_test_signing_secret"
	premiumPrice = "price_compliance_premium"
)

// webhookDouble is the real Stripe webhook handler over the fixture's
// table, with a Stripe double (billingtest) holding the subscriptions.
type webhookDouble struct {
	backend *billingtest.Backend
	handler http.Handler
}

func (f *fixture) webhook(t testing.TB) *webhookDouble {
	t.Helper()
	d := &webhookDouble{backend: billingtest.New()}
	logger := logging.New(f.logs, slog.LevelInfo)
	svc := &stripewebhookapi.Service{
		Secrets: []string{hookSecret}, Tolerance: webhook.DefaultTolerance,
		Ledger: billing.NewLedger(f.db, f.table, f.clock.Now),
		Syncer: &billing.Syncer{Stripe: billing.NewStripeWithBackend("sk_test_compliance_fixture", d.backend),
			Store: f.billing, PremiumPrice: premiumPrice, Grace: 72 * time.Hour},
		Logger: logger, Metrics: io.Discard, FunctionName: "stripewebhook", Now: f.clock.Now,
	}
	d.handler = web.Wrap(svc.Routes(), web.Options{Logger: logger, Function: "stripewebhook", MaxBody: stripewebhookapi.MaxBody})
	return d
}

// customer makes a Stripe customer and links it to the account, as the
// billing function's checkout does.
func (d *webhookDouble) customer(t testing.TB, f *fixture, accountID string) string {
	t.Helper()
	cus := d.backend.AddCustomer()
	if err := f.billing.Link(t.Context(), accountID, cus); err != nil {
		t.Fatal(err)
	}
	return cus
}

// set makes the customer's subscription to the premium price have status at Stripe.
func (d *webhookDouble) set(cus, sub, status string, now time.Time) {
	d.backend.SetSubscription(billingtest.Subscription{ID: sub, Customer: cus, Status: stripe.SubscriptionStatus(status),
		PriceID: premiumPrice, Created: now.Unix(), CurrentPeriodEnd: now.Add(30 * 24 * time.Hour).Unix()})
}

// deliver signs an event of the type about the customer and posts it, as Stripe does.
func (d *webhookDouble) deliver(t testing.TB, typ, cus, sub string) *httptest.ResponseRecorder {
	t.Helper()
	id := "evt_" + strings.TrimPrefix(ids.New("x"), "x_")
	obj := map[string]any{"id": sub, "object": "subscription", "customer": cus}
	if strings.HasPrefix(typ, "invoice.") {
		obj = map[string]any{"id": "in_" + id[4:], "object": "invoice", "customer": cus, "subscription": sub}
	}
	body, err := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "api_version": "2023-10-16",
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": obj}})
	if err != nil {
		t.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: hookSecret, Timestamp: time.Now()})
	r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/stripe", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("Stripe-Signature", signed.Header)
	w := httptest.NewRecorder()
	d.handler.ServeHTTP(w, r)
	return w
}
