package billing

import (
	"context"
	"time"

	"github.com/atrium-cdn/atrium/shared/config"
)

// Settings are the billing configuration of the Stripe-facing functions.
type Settings struct {
	SecretARN string // STRIPE_SECRET_ARN: the Secret's Secrets Manager id
	PriceID   string // STRIPE_PRICE_ID: the recurring price of the premium plan
	APIURL    string // STRIPE_API_URL: empty for api.stripe.com (stripe-mock locally)
	// Grace (BILLING_GRACE_PERIOD) is how long premium lasts after a
	// payment fails, while Stripe retries it.
	Grace time.Duration
}

// ReadSettings reads the settings; errors stay in r.
func ReadSettings(r *config.Reader) Settings {
	return Settings{
		SecretARN: r.Required("STRIPE_SECRET_ARN"),
		PriceID:   r.Required("STRIPE_PRICE_ID"),
		APIURL:    r.URL("STRIPE_API_URL", ""),
		Grace:     r.Duration("BILLING_GRACE_PERIOD", 7*24*time.Hour, 0, 60*24*time.Hour),
	}
}

// What the Stripe secret needs, as a *config.NotConfiguredError says it.
const (
	needSecret = `the JSON {"secret_key": "sk_...", "webhook_secrets": ["whsec_..."]}, in place of the ` +
		`stack's placeholder: put the key in, then run go run ./infra/cmd/stripe-setup (README.md, Deploying)`
	needWebhookSecret = `a webhook signing secret in "webhook_secrets": run go run ./infra/cmd/stripe-setup, ` +
		`which registers the webhook endpoint and writes its signing secret (README.md, Deploying)`
)

// Open reads the Stripe secret once (at cold start) with readSecret and
// returns the client it configures. needWebhook says the caller depends on
// webhooks (it verifies them, or sells what only they apply), so the signing
// secrets must be there too.
//
// A secret that still holds the stack's placeholder, or (with needWebhook)
// holds a key but no signing secret yet, is a *config.NotConfiguredError:
// the function answers 503 until it is set, rather than half-working.
func Open(ctx context.Context, s Settings, readSecret func(context.Context, string, any) error, needWebhook bool) (*Stripe, *Secret, error) {
	var sec Secret
	if err := readSecret(ctx, s.SecretARN, &sec); err != nil {
		if nc, ok := config.AsNotConfigured(err); ok {
			nc.Need = needSecret
		}
		return nil, nil, err
	}
	if err := sec.Check(false); err != nil {
		return nil, nil, err
	}
	if needWebhook && len(sec.WebhookSecrets) == 0 {
		return nil, nil, &config.NotConfiguredError{Secret: s.SecretARN, Need: needWebhookSecret}
	}
	if err := sec.Check(needWebhook); err != nil {
		return nil, nil, err
	}
	return NewStripe(sec.SecretKey, s.APIURL), &sec, nil
}
