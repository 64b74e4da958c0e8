package billing

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/config"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

const placeholderValue = `{"atrium_placeholder": "NOT CONFIGURED: run stripe-setup", "secret_key": "", "webhook_secrets": []}`

// reader is a secret reader over one value, deciding placeholders as
// coldstart.Base.SecretJSON does.
func reader(value string) func(context.Context, string, any) error {
	return func(_ context.Context, id string, dst any) error {
		if config.IsPlaceholder([]byte(value)) {
			return &config.NotConfiguredError{Secret: id, Need: "generic"}
		}
		return json.Unmarshal([]byte(value), dst)
	}
}

// Open tells a secret that is not set yet (the placeholder; a key without a
// signing secret, for a caller that needs webhooks) from a malformed one.
func TestOpenNotConfigured(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:atrium/stripe-AbC123"
	s := Settings{SecretARN: arn}
	keyOnly := `{"secret_key": "sk_test_0123456789abcdef", "webhook_secrets": []}`
	full := `{"secret_key": "sk_test_0123456789abcdef", "webhook_secrets": ["whsec_0123456789abcdef0123"]}`
	for _, tc := range []struct {
		value         string
		needWebhook   bool
		notConfigured string // what Need must say; "" for no NotConfiguredError
		fails         bool
	}{
		{placeholderValue, false, "stripe-setup", true},
		{placeholderValue, true, "stripe-setup", true},
		{keyOnly, true, "webhook_secrets", true},
		{keyOnly, false, "", false},
		{full, true, "", false},
		{`{"secret_key": "pk_live_x", "webhook_secrets": []}`, true, "", true}, // a publishable key: malformed, not "not yet"
	} {
		_, _, err := Open(context.Background(), s, reader(tc.value), tc.needWebhook)
		nc, isNC := config.AsNotConfigured(err)
		switch {
		case tc.fails != (err != nil):
			t.Errorf("%s (webhook %v): error %v", tc.value, tc.needWebhook, err)
		case tc.notConfigured == "" && isNC:
			t.Errorf("%s (webhook %v): not configured (%v), want configured or malformed", tc.value, tc.needWebhook, err)
		case tc.notConfigured != "" && (!isNC || nc.Secret != arn || !strings.Contains(nc.Need, tc.notConfigured)):
			t.Errorf("%s (webhook %v): %v, want not configured naming %s and %q", tc.value, tc.needWebhook, err, arn, tc.notConfigured)
		}
		if err != nil && strings.Contains(err.Error(), "sk_test_0123456789abcdef") {
			t.Errorf("the error quotes the key: %v", err)
		}
	}
}

// Without a Stripe client (the secret not set yet), the eraser erases an
// account without a customer as ever, and stops at one with a customer.
func TestEraserWithoutStripe(t *testing.T) {
	e := Eraser(nil, nil)
	count := func(string, int) error { return nil }
	if err := e.Erase(context.Background(), lifecycle.Subject{AccountID: "acct_x", Item: map[string]types.AttributeValue{}}, count); err != nil {
		t.Errorf("no customer: %v", err)
	}
	withCustomer := lifecycle.Subject{AccountID: "acct_x", Item: map[string]types.AttributeValue{
		"stripe_customer_id": &types.AttributeValueMemberS{Value: "cus_123"}}}
	if err := e.Erase(context.Background(), withCustomer, count); !errors.Is(err, ErrStripeNotConfigured) {
		t.Errorf("a customer: %v, want ErrStripeNotConfigured", err)
	}
}
