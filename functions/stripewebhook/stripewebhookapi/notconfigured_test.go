package stripewebhookapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// A first deployment's Stripe secret holds the template's placeholder: the
// function starts, logs one line naming the secret, and refuses every
// delivery with 503 not_configured (which Stripe retries), also once the
// key is in but no signing secret yet; it never accepts an event it cannot
// verify. At its next cold start after stripe-setup wrote the signing secret,
// it verifies and acknowledges deliveries.
func TestNotConfiguredUntilTheSigningSecretIsSet(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := context.Background()
	arn := testenv.PutSecret(t, st, testenv.TemplatePlaceholder(t, "StripeSecret"))
	delivery := func() *http.Request {
		// An event type Atrium ignores: acknowledged without Stripe or an account.
		body := eventBody("evt_notconfigured"+strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", ""), "charge.succeeded", "cus_x", "")
		r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/stripe", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Stripe-Signature", sign(body, stack.LocalWebhookSecret, time.Now()))
		return r
	}
	coldStart := func() (http.Handler, *testenv.LogBuffer) {
		t.Helper()
		logs := &testenv.LogBuffer{}
		h, err := New(ctx, st.ColdstartEnv("stripewebhook", logs, map[string]string{"STRIPE_SECRET_ARN": arn}))
		if err != nil {
			t.Fatalf("cold start: %v", err)
		}
		return h, logs
	}

	h, logs := coldStart()
	testenv.ExpectNotConfigured(t, h, delivery(), logs, arn, "")
	testenv.ExpectNotConfigured(t, h, delivery(), logs, arn, "") // still one line: once per cold start

	// The key, but no signing secret yet (stripe-setup not run).
	const key = "sk_test_notconfigured_0123456789"
	testenv.SetSecret(t, st, arn, `{"secret_key":"`+key+`","webhook_secrets":[]}`)
	h, logs = coldStart()
	testenv.ExpectNotConfigured(t, h, delivery(), logs, arn, key)

	value, _ := json.Marshal(map[string]any{"secret_key": stack.LocalStripeKey, "webhook_secrets": []string{stack.LocalWebhookSecret}})
	testenv.SetSecret(t, st, arn, string(value))
	h, logs = coldStart()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, delivery())
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"ignored"`) {
		t.Fatalf("with the secret set: %d %s, want 200 ignored", w.Code, w.Body)
	}
	if strings.Contains(logs.String(), "not_configured") {
		t.Errorf("a configured function logs not_configured:\n%s", logs)
	}
}
