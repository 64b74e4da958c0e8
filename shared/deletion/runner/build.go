package runner

import (
	"context"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/sources"
)

// Config is what a function that runs deletion jobs reads from its environment.
type Config struct {
	SourcesSecretPrefix string // SOURCES_SECRET_PREFIX
	ClientKeySecretARN  string // CLIENT_KEY_SECRET_ARN: the key of the failed-login counter's pseudonym
	StripeSecretARN     string // STRIPE_SECRET_ARN: the Stripe key, to delete the customer
	StripeAPIURL        string // STRIPE_API_URL: stripe-mock locally
}

// ReadConfig reads the configuration into b's reader (errors are reported
// by b.Finish).
func ReadConfig(b *coldstart.Base) Config {
	return Config{
		SourcesSecretPrefix: b.Config.Required("SOURCES_SECRET_PREFIX"),
		ClientKeySecretARN:  b.Config.Required("CLIENT_KEY_SECRET_ARN"),
		StripeSecretARN:     b.Config.Required("STRIPE_SECRET_ARN"),
		StripeAPIURL:        b.Config.URL("STRIPE_API_URL", ""),
	}
}

// New builds a Runner once per cold start, reading its secrets.
func New(ctx context.Context, b *coldstart.Base, c Config) (*Runner, error) {
	vault, err := sources.NewVault(b.SecretsManager(), c.SourcesSecretPrefix, "")
	if err != nil {
		return nil, err
	}
	keyer, err := pseudonym.FromSecret(ctx, b.SecretJSON, c.ClientKeySecretARN)
	if err != nil {
		return nil, err
	}
	stripe, _, err := billing.Open(ctx, billing.Settings{SecretARN: c.StripeSecretARN, APIURL: c.StripeAPIURL}, b.SecretJSON, false)
	if err != nil {
		return nil, err
	}
	return &Runner{
		DB: b.DynamoDB, Table: b.Table, RequestLogTable: b.RequestLogTable,
		Jobs: deletion.NewStore(b.DynamoDB, b.Table, b.Now), Accounts: b.Identity,
		Sources: sources.NewStore(b.DynamoDB, b.Table, b.Now), Vault: vault,
		Billing: billing.NewStore(b.DynamoDB, b.Table, b.Now), Stripe: stripe,
		Keyer: keyer, Logger: b.Logger, Now: b.Now,
	}, nil
}
