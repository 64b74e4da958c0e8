package runner

import (
	"context"
	"sync"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/config"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/throttle"
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

// OpenParts builds, once per cold start, the stores and clients the
// erasers work through, reading their secrets.
func OpenParts(ctx context.Context, b *coldstart.Base, c Config) (Parts, error) {
	vault, err := sources.NewVault(b.SecretsManager(), c.SourcesSecretPrefix, "")
	if err != nil {
		return Parts{}, err
	}
	// The two secrets are read at once (a round trip each, the longest
	// part of a cold start); their errors are taken in the order they
	// always were.
	var (
		keyer  *pseudonym.Keyer
		stripe *billing.Stripe
		keyErr error
		reads  sync.WaitGroup
	)
	reads.Go(func() { keyer, keyErr = pseudonym.FromSecret(ctx, b.SecretJSON, c.ClientKeySecretARN) })
	reads.Go(func() {
		stripe, _, err = billing.Open(ctx, billing.Settings{SecretARN: c.StripeSecretARN, APIURL: c.StripeAPIURL}, b.SecretJSON, false)
	})
	reads.Wait()
	if keyErr != nil {
		return Parts{}, keyErr
	}
	if nc, ok := config.AsNotConfigured(err); ok {
		// Deletions go on (P7): an account without a Stripe customer, every
		// account while billing was never set up, needs no Stripe call. One
		// with a customer stops at that step (billing.ErrStripeNotConfigured)
		// and is resumed once the secret is set.
		b.Logger.Error("not_configured", logging.SecretID("configure", nc.Secret), "need", nc.Need,
			"effect", "deletions of accounts with a Stripe customer wait at their Stripe step")
		stripe, err = nil, nil
	}
	if err != nil {
		return Parts{}, err
	}
	return Parts{Accounts: b.Identity,
		Sources: sources.NewStore(b.DynamoDB, b.Table, b.Now), Vault: vault,
		Billing: billing.NewStore(b.DynamoDB, b.Table, b.Now), Stripe: stripe,
		Limits: throttle.NewStore(b.DynamoDB, b.Table, throttle.DefaultPolicy(), b.Now), Keyer: keyer,
		DB: b.DynamoDB, RequestLogTable: b.RequestLogTable,
		Passkeys: passkeys.NewStore(b.DynamoDB, b.Table, b.Now)}, nil
}

// New builds a Runner once per cold start, reading its secrets.
func New(ctx context.Context, b *coldstart.Base, c Config) (*Runner, error) {
	p, err := OpenParts(ctx, b, c)
	if err != nil {
		return nil, err
	}
	return FromParts(b, p), nil
}

// FromParts builds a Runner over parts already open.
func FromParts(b *coldstart.Base, p Parts) *Runner {
	return &Runner{DB: b.DynamoDB, Table: b.Table, Jobs: deletion.NewStore(b.DynamoDB, b.Table, b.Now),
		Erasers: Erasers(p), Logger: b.Logger, Now: b.Now}
}

// Parts are the stores and clients the owners' erasers work through.
type Parts struct {
	Accounts        *identity.Store
	Sources         *sources.Store
	Vault           *sources.Vault
	Billing         *billing.Store
	Stripe          *billing.Stripe
	Limits          *throttle.Store
	Keyer           *pseudonym.Keyer // pseudonyms of email addresses and account ids (the counters' keys)
	DB              requestlog.EraseDB
	RequestLogTable string
	Passkeys        *passkeys.Store
}

// Erasers lists every owner's part of an account's deletion, in the order
// they run: what holds the keys to the rest (sessions, links) goes first,
// what only a pseudonym of the address finds (the counters) while the
// address is still known, and the request logs last, just before the
// runner's own step deletes what is left of the account's partition and
// the account. A test checks that every registered kind's Erasure is
// carried out here (lifecycle.CheckErasers).
func Erasers(p Parts) []lifecycle.Eraser {
	return append(p.Accounts.Erasers(),
		passkeys.Eraser(p.Passkeys),
		sources.Eraser(p.Sources, p.Vault),
		billing.Eraser(p.Billing, p.Stripe),
		p.Limits.Eraser(p.Keyer),
		compliance.Eraser(p.Limits, p.Keyer),
		requestlog.Eraser(p.DB, p.RequestLogTable),
	)
}
