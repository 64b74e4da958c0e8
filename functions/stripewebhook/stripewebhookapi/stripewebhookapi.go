// Package stripewebhookapi is the Stripe webhook function: it verifies each
// delivery's signature over the exact raw body, then brings the account of
// the customer the event concerns up to date with Stripe (package billing),
// once per event however often Stripe delivers it. The same handler runs in
// Lambda (functions/stripewebhook) and in the local stack.
package stripewebhookapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/config"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{"POST /v1/webhooks/stripe"}

// MaxBody bounds a delivery. Stripe's events carry one object, whose
// embedded lists are cut at ten entries; 256 KiB is far above any we handle.
const MaxBody = 256 << 10

// maxSignatureHeader bounds the Stripe-Signature header (a timestamp and a
// few 64-digit signatures).
const maxSignatureHeader = 4 << 10

// Handled are the event types that change an account's billing. Each names
// a customer, whose current state is then read from Stripe.
var Handled = map[stripe.EventType]bool{
	"checkout.session.completed":    true,
	"customer.subscription.created": true,
	"customer.subscription.updated": true,
	"customer.subscription.deleted": true,
	"invoice.paid":                  true,
	"invoice.payment_failed":        true,
	"customer.deleted":              true,
}

// Service receives Stripe's webhook deliveries.
type Service struct {
	// Secrets are the endpoint's signing secrets; a delivery signed with any
	// of them is accepted (two during a roll).
	Secrets   []string
	Tolerance time.Duration // how old a signature's timestamp may be
	Ledger    *billing.Ledger
	Syncer    *billing.Syncer
	Logger    *slog.Logger
	// Metrics receives one Embedded Metric Format line per delivery.
	Metrics      io.Writer
	FunctionName string
	Now          func() time.Time
}

// New builds the Stripe webhook function from its environment.
func New(ctx context.Context, env coldstart.Env) (http.Handler, error) {
	b, err := coldstart.Load(ctx, "stripewebhook", env)
	if err != nil {
		return nil, err
	}
	set := billing.ReadSettings(b.Config)
	tolerance := b.Config.Duration("STRIPE_WEBHOOK_TOLERANCE", webhook.DefaultTolerance, 30*time.Second, time.Hour)
	if err := b.Finish(); err != nil {
		return nil, err
	}
	client, secret, err := billing.Open(ctx, set, b.SecretJSON, true)
	if nc, ok := config.AsNotConfigured(err); ok {
		// No event is accepted without a real signing secret: 503, which
		// Stripe retries for days, until the secret is set.
		return b.NotConfigured(nc), nil
	}
	if err != nil {
		return nil, err
	}
	s := &Service{
		Secrets: secret.WebhookSecrets, Tolerance: tolerance,
		Ledger: billing.NewLedger(b.DynamoDB, b.Table, b.Now),
		Syncer: &billing.Syncer{Stripe: client, Store: billing.NewStore(b.DynamoDB, b.Table, b.Now),
			PremiumPrice: set.PriceID, Grace: set.Grace},
		Logger: b.Logger, Metrics: b.Logs, FunctionName: b.FunctionName, Now: b.Now,
	}
	return b.ServeWithBodyLimit(s.Routes(), MaxBody), nil
}

// Routes returns the function's router.
func (s *Service) Routes() *web.Router {
	rt := web.NewRouter(s.Logger)
	rt.Handle("POST /v1/webhooks/stripe", s.receive)
	return rt
}

// Delivery outcomes, as answered, logged and counted.
const (
	outcomeIgnored   = "ignored"
	outcomeDuplicate = "duplicate"
)

// Compiled on first use, not in a package initialiser: bounded repeats make
// compiling such an expression cost at every cold start (issue #17).
var (
	eventIDPattern    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^evt_[A-Za-z0-9_]{1,250}$`) })
	customerIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^cus_[A-Za-z0-9]{1,250}$`) })
)

func badSignature(code web.Code, msg string) error {
	return code.Errorf("%s Nothing was processed.", msg)
}

// MaxFutureSkew is how far in the future a signature's timestamp may lie.
// stripe-go refuses only timestamps older than the tolerance; a signature
// dated ahead would stay replayable for that much longer than the tolerance
// says. Stripe and Lambda both keep NTP time (skew of milliseconds), so 30
// seconds absorbs any real skew and nothing more.
const MaxFutureSkew = 30 * time.Second

// verify checks the signature with each signing secret in turn and returns
// the event. The signature's timestamp must lie within the tolerance in the
// past and MaxFutureSkew in the future (both against the wall clock, which
// is what stripe-go measures the past against); the event's API version is
// deliberately not checked (see billing.APIVersion).
func (s *Service) verify(body []byte, header string) (stripe.Event, error) {
	if header == "" {
		return stripe.Event{}, badSignature(web.CodeSignatureMissing, "The Stripe-Signature header is missing.")
	}
	if len(header) > maxSignatureHeader {
		return stripe.Event{}, badSignature(web.CodeSignatureInvalid, "The Stripe-Signature header is too long.")
	}
	var lastErr error
	for _, secret := range s.Secrets {
		ev, err := webhook.ConstructEventWithOptions(body, header, secret, webhook.ConstructEventOptions{
			Tolerance: s.Tolerance, IgnoreAPIVersionMismatch: true})
		if err == nil {
			// The timestamp is authentic now (it is part of what was signed).
			if at, ok := signedAt(header); !ok || time.Until(at) > MaxFutureSkew {
				return stripe.Event{}, stale()
			}
			return ev, nil
		}
		lastErr = err
		if errors.Is(err, webhook.ErrNoValidSignature) {
			continue // perhaps signed with the other secret
		}
		break
	}
	switch {
	case errors.Is(lastErr, webhook.ErrTooOld):
		return stripe.Event{}, stale()
	case errors.Is(lastErr, webhook.ErrNoValidSignature), errors.Is(lastErr, webhook.ErrInvalidHeader), errors.Is(lastErr, webhook.ErrNotSigned):
		return stripe.Event{}, badSignature(web.CodeSignatureInvalid, "The Stripe-Signature header does not match the body.")
	default: // signed, but not an event stripe-go can read
		return stripe.Event{}, web.CodeInvalidEvent.Errorf("The body is not a Stripe event. Nothing was processed.")
	}
}

// stale answers a signature dated too long ago or too far ahead.
func stale() error {
	return badSignature(web.CodeSignatureStale, "The signature's timestamp is outside the accepted window.")
}

// signedAt reads the timestamp of a Stripe-Signature header the way
// stripe-go does ("t=1495999758,v1=…": the last t wins; a pair without
// exactly one "=" makes the header unreadable).
func signedAt(header string) (time.Time, bool) {
	var at time.Time
	found := false
	for pair := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.Contains(v, "=") {
			return time.Time{}, false
		}
		if k != "t" {
			continue
		}
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		at, found = time.Unix(sec, 0), true
	}
	return at, found
}

// eventObject is the little the handler reads of an event's object: the
// customer it concerns.
type eventObject struct {
	ID       string          `json:"id"`
	Customer json.RawMessage `json:"customer"`
}

// customerOf returns the id of the customer the event concerns.
func customerOf(ev *stripe.Event) (string, bool) {
	if ev.Data == nil {
		return "", false
	}
	var o eventObject
	if err := json.Unmarshal(ev.Data.Raw, &o); err != nil {
		return "", false
	}
	id := o.ID
	if ev.Type != "customer.deleted" {
		// A customer is an id, or an expanded object with one.
		id = ""
		var expanded struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(o.Customer, &id); err != nil {
			if err := json.Unmarshal(o.Customer, &expanded); err != nil {
				return "", false
			}
			id = expanded.ID
		}
	}
	return id, customerIDPattern().MatchString(id)
}

type receipt struct {
	Received bool   `json:"received"`
	Outcome  string `json:"outcome"`
}

// delivery is a verified event and what the handler needs of it.
type delivery struct {
	event      stripe.Event
	handled    bool
	customerID string // for a handled type
}

// parse verifies a delivery and reads the event: every refusal is a 400
// problem, and nothing has been touched when it returns.
func (s *Service) parse(body []byte, header string) (*delivery, error) {
	ev, err := s.verify(body, header)
	if err != nil {
		return nil, err
	}
	if !eventIDPattern().MatchString(ev.ID) {
		return nil, web.CodeInvalidEvent.Errorf("The event has no valid id. Nothing was processed.")
	}
	d := &delivery{event: ev, handled: Handled[ev.Type]}
	if !d.handled {
		return d, nil
	}
	var ok bool
	if d.customerID, ok = customerOf(&ev); !ok {
		return nil, web.CodeInvalidEvent.Errorf("The event names no valid customer. Nothing was processed.")
	}
	return d, nil
}

func (s *Service) receive(w http.ResponseWriter, r *http.Request) error {
	body, err := web.ReadBody(r)
	if err != nil {
		return err
	}
	d, err := s.parse(body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		return err
	}
	ctx, ev, customerID := r.Context(), d.event, d.customerID
	if !d.handled {
		s.finish(ctx, w, &ev, outcomeIgnored, "")
		return nil
	}
	lease, err := s.Ledger.Begin(ctx, ev.ID, string(ev.Type))
	switch {
	case errors.Is(err, billing.ErrEventDone):
		s.finish(ctx, w, &ev, outcomeDuplicate, "")
		return nil
	case errors.Is(err, billing.ErrEventInProgress):
		s.count(billing.Outcome("in_progress"))
		return web.CodeEventInProgress.New().WithRetryAfter(30 * time.Second)
	case err != nil:
		return err
	}
	outcome, accountID, err := s.Syncer.Sync(ctx, customerID)
	if err != nil {
		// The effect is not (fully) written: give the event up so that
		// Stripe's retry applies it.
		if aerr := s.Ledger.Abandon(ctx, lease); aerr != nil {
			s.Logger.WarnContext(ctx, "could not give a failed stripe event up; its lease will lapse", "event_id", ev.ID, "error", aerr)
		}
		s.count("failed")
		if errors.Is(err, billing.ErrStripe) {
			return web.CodeStripeUnavailable.New().WithCause(err)
		}
		return err
	}
	if accountID != "" {
		web.SetAccountID(ctx, accountID)
	}
	if err := s.Ledger.Done(ctx, lease); err != nil {
		// The state is written; a retry re-syncs, which changes nothing.
		return err
	}
	s.finish(ctx, w, &ev, string(outcome), accountID)
	return nil
}

func (s *Service) finish(ctx context.Context, w http.ResponseWriter, ev *stripe.Event, outcome, accountID string) {
	attrs := []any{"event_id", ev.ID, "event_type", string(ev.Type), "outcome", outcome}
	if accountID != "" {
		attrs = append(attrs, "account_id", accountID)
	}
	s.Logger.InfoContext(ctx, "stripe_event", attrs...)
	s.count(billing.Outcome(outcome))
	web.WriteJSON(w, http.StatusOK, receipt{Received: true, Outcome: outcome})
}

// count emits one metric per delivery, named by its outcome
// (StripeEvent_applied, StripeEvent_ignored, ...).
func (s *Service) count(outcome billing.Outcome) {
	requestlog.EmitMetrics(s.Metrics, s.Now(), s.FunctionName,
		requestlog.Metric{Name: "StripeEvent_" + string(outcome), Unit: "Count", Value: 1})
}
