package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/shared/billing"
)

// TestCheckoutWebhookAndPlan walks the billing path through the whole local
// API and stripe-mock: checkout creates and links the customer, a signed
// webhook delivery makes the account premium (stripe-mock's subscription
// fixture is active on the local premium price), and the sources function
// sees the premium limit on its next request.
func TestCheckoutWebhookAndPlan(t *testing.T) {
	remember(stack.LocalStripeKey, stack.LocalWebhookSecret)
	token, acct := signUpAndVerify(t, newAddress(t), strongPassword(t))
	acctID := acct["id"].(string)

	if r := do(t, request{method: "GET", path: "/v1/billing", header: bearer(token)}); r.Status != 200 ||
		r.str("plan") != "standard" || r.str("subscription_status") != "none" {
		t.Fatalf("billing before checkout: %d %s", r.Status, r.Raw)
	}
	r := do(t, request{method: "POST", path: "/v1/billing/checkout", header: bearer(token), body: map[string]string{"plan": "premium"}})
	if r.Status != http.StatusOK || !strings.HasPrefix(r.str("url"), "https://") {
		t.Fatalf("checkout: %d %s", r.Status, r.Raw)
	}
	rec, err := billing.NewStore(stack.DynamoDBClient(theStack.DynamoDBEndpoint), theStack.Tables["StateTable"], nil).
		Record(context.Background(), acctID)
	if err != nil || rec.StripeCustomerID == "" {
		t.Fatalf("no customer linked: %v %+v", err, rec)
	}

	// Stripe tells us the subscription was created.
	eventID := fmt.Sprintf("evt_gateway%d", time.Now().UnixNano())
	body := fmt.Sprintf(`{"id":%q,"object":"event","api_version":%q,"type":"customer.subscription.created","data":{"object":{"id":"sub_x","object":"subscription","customer":%q}}}`,
		eventID, stripe.APIVersion, rec.StripeCustomerID)
	deliver := func() response {
		header := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: stack.LocalWebhookSecret}).Header
		return do(t, request{method: "POST", path: "/v1/webhooks/stripe", body: body, header: map[string]string{"Stripe-Signature": header}})
	}
	if r := deliver(); r.Status != http.StatusOK || r.str("outcome") != "applied" {
		t.Fatalf("webhook: %d %s", r.Status, r.Raw)
	}
	if r := deliver(); r.Status != http.StatusOK || r.str("outcome") != "duplicate" {
		t.Fatalf("redelivery: %d %s", r.Status, r.Raw)
	}
	wantProblem(t, do(t, request{method: "POST", path: "/v1/webhooks/stripe", body: body,
		header: map[string]string{"Stripe-Signature": fmt.Sprintf("t=%d,v1=00", time.Now().Unix())}}), http.StatusBadRequest, "signature_invalid")

	r = do(t, request{method: "GET", path: "/v1/billing", header: bearer(token)})
	if r.Status != 200 || r.str("plan") != "premium" || r.str("subscription_status") != "active" {
		t.Fatalf("billing after the webhook: %d %s", r.Status, r.Raw)
	}
	if r := do(t, request{method: "GET", path: "/v1/account", header: bearer(token)}); r.str("plan") != "premium" {
		t.Fatalf("account after the webhook: %s", r.Raw)
	}
	wantProblem(t, do(t, request{method: "POST", path: "/v1/billing/checkout", header: bearer(token),
		body: map[string]string{"plan": "premium"}}), http.StatusConflict, "already_subscribed")
	if r := do(t, request{method: "POST", path: "/v1/billing/portal", header: bearer(token)}); r.Status != http.StatusOK || r.str("url") == "" {
		t.Fatalf("portal: %d %s", r.Status, r.Raw)
	}

	// The sources function sees premium: a fourth source (standard allows three).
	const keyID, secret = "AKIATESTPREMIUM00001", "gateway-premium-secret-0123456789abcdef"
	endpoint, _ := readableBucket(t, "premium-images", keyID, secret)
	for i := range 4 {
		r := do(t, request{method: "POST", path: "/v1/sources", header: bearer(token), body: map[string]any{
			"name": fmt.Sprintf("Bucket %d", i), "type": "s3_compatible", "bucket": "premium-images", "region": "us-east-1",
			"endpoint": endpoint, "access_key_id": keyID, "secret_access_key": secret,
		}})
		if r.Status != http.StatusCreated {
			t.Fatalf("source %d of a premium account: %d %s", i+1, r.Status, r.Raw)
		}
	}

}
