package billingapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// The billing function waits for the whole Stripe secret, signing secret
// included: a checkout sold before the webhook can apply it would take a
// customer's money and give no premium.
func TestNotConfiguredUntilStripeIsSetUp(t *testing.T) {
	testenv.CheckNotConfigured(t, testenv.NewStack(t), testenv.NotConfiguredCase{
		Function: "billing", New: New, Variable: "STRIPE_SECRET_ARN", Resource: "StripeSecret",
		Request: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/v1/billing", nil)
		},
		Steps: []struct{ Value, Secret string }{
			{`{"secret_key":"sk_test_billingnotconfigured","webhook_secrets":[]}`, "sk_test_billingnotconfigured"},
			{`{"secret_key":"` + stack.LocalStripeKey + `","webhook_secrets":["` + stack.LocalWebhookSecret + `"]}`, ""},
		},
	})
}
