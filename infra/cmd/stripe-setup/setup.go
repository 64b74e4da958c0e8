package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/atrium-cdn/atrium/functions/stripewebhook/stripewebhookapi"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/config"
)

// Endpoint is what the set-up reads of a Stripe webhook endpoint.
type Endpoint struct {
	ID, URL, APIVersion string
	Events              []string
	Disabled            bool
	Secret              string // only when just created: Stripe shows it once
}

// Endpoints is the part of Stripe's webhook-endpoint API the set-up uses.
type Endpoints interface {
	List(ctx context.Context) ([]Endpoint, error)
	Create(ctx context.Context, url string, events []string, apiVersion string) (Endpoint, error)
	Update(ctx context.Context, id string, events []string) error
	Delete(ctx context.Context, id string) error
}

// Secrets reads and writes the stack's Stripe secret (Secrets Manager).
type Secrets interface {
	Get(ctx context.Context, id string) (string, error)
	Put(ctx context.Context, id, value string) error
}

// Events are exactly the event types the webhook function handles
// (stripewebhookapi.Handled), sorted: the one source of the list.
func Events() []string {
	out := make([]string, 0, len(stripewebhookapi.Handled))
	for t := range stripewebhookapi.Handled {
		out = append(out, string(t))
	}
	sort.Strings(out)
	return out
}

// Mode is what a run does beyond making sure the endpoint exists.
type Mode int

const (
	// Ensure creates the endpoint or brings its events up to date, and
	// writes its signing secret when the stack's secret lacks one.
	Ensure Mode = iota
	// Rotate creates a new endpoint for the URL and puts its signing secret
	// first, keeping the current one second, so that deliveries signed with
	// either verify until FinishRotation.
	Rotate
	// FinishRotation deletes the URL's other endpoints and keeps only the
	// first signing secret.
	FinishRotation
)

// Setup is one run of the command.
type Setup struct {
	Stripe   Endpoints
	Secrets  Secrets
	URL      string // the stack's StripeWebhookUrl output
	SecretID string // the stack's StripeSecretId output (ARN or name)
	APIKey   string // the operator's Stripe key: written as secret_key when the secret has none
	Out      io.Writer
}

// Run does what mode says and reports every change it makes on s.Out; a run
// that finds everything as it should be changes nothing.
func (s *Setup) Run(ctx context.Context, mode Mode) error {
	if !strings.HasPrefix(s.URL, "https://") || !strings.HasSuffix(s.URL, "/v1/webhooks/stripe") {
		return fmt.Errorf("-url %q: want the stack's StripeWebhookUrl output, https://.../v1/webhooks/stripe", s.URL)
	}
	sec, err := s.readSecret(ctx)
	if err != nil {
		return err
	}
	all, err := s.Stripe.List(ctx)
	if err != nil {
		return fmt.Errorf("list webhook endpoints: %w", err)
	}
	var mine []Endpoint // the URL's endpoints, pinned version first
	for _, e := range all {
		if e.URL == s.URL {
			mine = append(mine, e)
		}
	}
	slices.SortStableFunc(mine, func(a, b Endpoint) int {
		return boolRank(a.APIVersion != billing.APIVersion) - boolRank(b.APIVersion != billing.APIVersion)
	})
	events := Events()
	changed := false

	switch {
	case mode == FinishRotation:
		if len(mine) == 0 || len(sec.WebhookSecrets) == 0 {
			return errors.New("nothing to finish: no endpoint or no signing secret; run without -finish-rotation first")
		}
		// The newest endpoint is the one whose secret was put first: the
		// one created last by -rotate (Stripe lists the newest first).
		keep := newestPinned(mine)
		for _, e := range mine {
			if e.ID != keep.ID {
				if err := s.Stripe.Delete(ctx, e.ID); err != nil {
					return fmt.Errorf("delete endpoint %s: %w", e.ID, err)
				}
				fmt.Fprintf(s.Out, "deleted the old webhook endpoint %s\n", e.ID)
			}
		}
		if len(sec.WebhookSecrets) > 1 {
			sec.WebhookSecrets = sec.WebhookSecrets[:1]
			changed = true
		}
	case mode == Rotate || len(mine) == 0 || mine[0].APIVersion != billing.APIVersion || len(sec.WebhookSecrets) == 0:
		// A new endpoint: none yet, only ones at another API version (which
		// an update cannot change), a rotation, or an endpoint whose signing
		// secret the stack's secret lacks (Stripe shows a secret only once).
		e, err := s.Stripe.Create(ctx, s.URL, events, billing.APIVersion)
		if err != nil {
			return fmt.Errorf("create webhook endpoint: %w", err)
		}
		if !strings.HasPrefix(e.Secret, "whsec_") {
			return fmt.Errorf("created webhook endpoint %s, but Stripe returned no signing secret", e.ID)
		}
		fmt.Fprintf(s.Out, "created webhook endpoint %s for %s (API version %s, %d events)\n", e.ID, s.URL, billing.APIVersion, len(events))
		if len(sec.WebhookSecrets) == 0 {
			// Endpoints whose secret nobody holds deliver nothing verifiable.
			for _, old := range mine {
				if err := s.Stripe.Delete(ctx, old.ID); err != nil {
					return fmt.Errorf("delete endpoint %s: %w", old.ID, err)
				}
				fmt.Fprintf(s.Out, "deleted webhook endpoint %s, whose signing secret the stack's secret does not hold\n", old.ID)
			}
		} else {
			fmt.Fprintf(s.Out, "the previous signing secret stays valid: once every function has started again (or after a day), run with -finish-rotation\n")
		}
		sec.WebhookSecrets = append([]string{e.Secret}, first(sec.WebhookSecrets)...)
		changed = true
	default:
		e := mine[0]
		if !slices.Equal(sortedCopy(e.Events), events) || e.Disabled {
			if err := s.Stripe.Update(ctx, e.ID, events); err != nil {
				return fmt.Errorf("update webhook endpoint %s: %w", e.ID, err)
			}
			fmt.Fprintf(s.Out, "updated webhook endpoint %s: enabled, events %s\n", e.ID, strings.Join(events, ", "))
		}
	}
	if sec.SecretKey == "" {
		sec.SecretKey = s.APIKey
		changed = true
	}
	if !changed {
		fmt.Fprintf(s.Out, "webhook endpoint and secret %s are up to date; nothing changed\n", s.SecretID)
		return nil
	}
	if err := sec.Check(true); err != nil {
		return err
	}
	value, err := json.Marshal(sec)
	if err != nil {
		return err
	}
	if err := s.Secrets.Put(ctx, s.SecretID, string(value)); err != nil {
		return fmt.Errorf("write secret %s: %w", s.SecretID, err)
	}
	fmt.Fprintf(s.Out, "wrote the signing secret into %s (%d signing secret(s)); the functions read it at their next cold start\n", s.SecretID, len(sec.WebhookSecrets))
	return nil
}

// readSecret reads the stack's Stripe secret: the template's placeholder
// counts as empty.
func (s *Setup) readSecret(ctx context.Context) (billing.Secret, error) {
	var sec billing.Secret
	v, err := s.Secrets.Get(ctx, s.SecretID)
	if err != nil {
		return sec, fmt.Errorf("read secret %s: %w", s.SecretID, err)
	}
	if config.IsPlaceholder([]byte(v)) {
		return billing.Secret{}, nil
	}
	if err := json.Unmarshal([]byte(v), &sec); err != nil {
		return sec, fmt.Errorf("secret %s is not the JSON {\"secret_key\", \"webhook_secrets\"}", s.SecretID)
	}
	return sec, nil
}

func newestPinned(es []Endpoint) Endpoint {
	for _, e := range es {
		if e.APIVersion == billing.APIVersion {
			return e
		}
	}
	return es[0]
}

func first(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s[:1]
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
