package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	portalsession "github.com/stripe/stripe-go/v76/billingportal/session"
	checkoutsession "github.com/stripe/stripe-go/v76/checkout/session"
	"github.com/stripe/stripe-go/v76/customer"
	"github.com/stripe/stripe-go/v76/subscription"
)

// APIVersion is the Stripe API version every request is pinned to: stripe-go
// v76's. Webhook events are only ever used for their type, id and the id of
// the customer they concern; the state written comes from requests made in
// this version, so an endpoint that sends events in another version is safe.
const APIVersion = stripe.APIVersion

// ErrStripe wraps every failed call to Stripe; the wrapped text carries the
// error's type, code, HTTP status and request id, never Stripe's message
// (which can quote what was sent, such as an email address).
var ErrStripe = errors.New("stripe")

// Stripe is the part of Stripe's API that Atrium calls, over stripe-go's
// clients of the four resources it uses (so tests can put a stripe.Backend
// double or stripe-mock behind it). Not stripe-go's client.API: that one
// links every resource of Stripe's API, about 20 KiB of each function's
// zip for the four used here.
type Stripe struct {
	customers     *customer.Client
	checkout      *checkoutsession.Client
	portal        *portalsession.Client
	subscriptions *subscription.Client
}

// NewStripe returns a client with the secret key. apiURL is empty for
// api.stripe.com, or stripe-mock's address locally.
func NewStripe(secretKey, apiURL string) *Stripe {
	cfg := &stripe.BackendConfig{
		// Two calls of at most two tries each fit the function's timeout
		// (template.yaml: 25 s).
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		// stripe-go's own log lines could carry Stripe's messages; errors are
		// logged by Atrium, sanitised, where they are handled.
		LeveledLogger:     silentLogger{},
		MaxNetworkRetries: stripe.Int64(1),
		EnableTelemetry:   stripe.Bool(false),
	}
	if apiURL != "" {
		cfg.URL = stripe.String(apiURL)
	}
	return NewStripeWithBackend(secretKey, stripe.GetBackendWithConfig(stripe.APIBackend, cfg))
}

// NewStripeWithBackend returns a client that sends its calls to backend.
func NewStripeWithBackend(secretKey string, backend stripe.Backend) *Stripe {
	return &Stripe{
		customers:     &customer.Client{B: backend, Key: secretKey},
		checkout:      &checkoutsession.Client{B: backend, Key: secretKey},
		portal:        &portalsession.Client{B: backend, Key: secretKey},
		subscriptions: &subscription.Client{B: backend, Key: secretKey},
	}
}

type silentLogger struct{}

func (silentLogger) Debugf(string, ...any) {}
func (silentLogger) Errorf(string, ...any) {}
func (silentLogger) Infof(string, ...any)  {}
func (silentLogger) Warnf(string, ...any)  {}

// sanitize turns a stripe-go error into one that is safe to log.
func sanitize(op string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %s: %s %s (status %d, request %s)", ErrStripe, op, se.Type, se.Code, se.HTTPStatusCode, se.RequestID)
	}
	return fmt.Errorf("%w: %s: request failed", ErrStripe, op)
}

// isMissing reports a Stripe 404 (an object that does not exist).
func isMissing(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && (se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing)
}

// CreateCustomer creates the Stripe customer of an account. The idempotency
// key is the account's, so concurrent first checkouts (and a retry after a
// lost response) get one customer within Stripe's 24-hour key window; the
// conditional link in Store.Link covers the rest.
func (s *Stripe) CreateCustomer(ctx context.Context, accountID, email string) (string, error) {
	p := &stripe.CustomerParams{Email: stripe.String(email)}
	p.Context = ctx
	p.AddMetadata(MetadataAccountID, accountID)
	p.SetIdempotencyKey("atrium-customer-" + accountID)
	c, err := s.customers.New(p)
	if err != nil {
		return "", sanitize("create customer", err)
	}
	return c.ID, nil
}

// DeleteCustomer deletes a Stripe customer (which cancels its
// subscriptions); one already gone counts as deleted.
func (s *Stripe) DeleteCustomer(ctx context.Context, customerID string) error {
	p := &stripe.CustomerParams{}
	p.Context = ctx
	if _, err := s.customers.Del(customerID, p); err != nil && !isMissing(err) {
		return sanitize("delete customer", err)
	}
	return nil
}

// MetadataAccountID names the Atrium account on Stripe objects.
const MetadataAccountID = "atrium_account_id"

// CheckoutURL opens a subscription-mode Checkout Session for the price.
func (s *Stripe) CheckoutURL(ctx context.Context, customerID, accountID, priceID, successURL, cancelURL string) (string, error) {
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(customerID),
		ClientReferenceID: stripe.String(accountID),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(priceID), Quantity: stripe.Int64(1)}},
		SuccessURL:        stripe.String(successURL),
		CancelURL:         stripe.String(cancelURL),
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{
			Metadata: map[string]string{MetadataAccountID: accountID},
		},
	}
	p.Context = ctx
	cs, err := s.checkout.New(p)
	if err != nil {
		return "", sanitize("create checkout session", err)
	}
	return cs.URL, nil
}

// PortalURL opens a Customer Portal session.
func (s *Stripe) PortalURL(ctx context.Context, customerID, returnURL string) (string, error) {
	p := &stripe.BillingPortalSessionParams{Customer: stripe.String(customerID), ReturnURL: stripe.String(returnURL)}
	p.Context = ctx
	ps, err := s.portal.New(p)
	if err != nil {
		return "", sanitize("create portal session", err)
	}
	return ps.URL, nil
}

// CustomerExists reports whether the customer exists and is not deleted.
func (s *Stripe) CustomerExists(ctx context.Context, customerID string) (bool, error) {
	p := &stripe.CustomerParams{}
	p.Context = ctx
	c, err := s.customers.Get(customerID, p)
	if isMissing(err) {
		return false, nil
	}
	if err != nil {
		return false, sanitize("read customer", err)
	}
	return !c.Deleted, nil
}

// maxSubscriptions bounds how many of one customer's subscriptions a sync
// reads (Atrium creates one per checkout; more means something is wrong).
const maxSubscriptions = 100

// Subscriptions lists all the customer's subscriptions, whatever their status.
func (s *Stripe) Subscriptions(ctx context.Context, customerID string) ([]*stripe.Subscription, error) {
	p := &stripe.SubscriptionListParams{Customer: stripe.String(customerID), Status: stripe.String("all")}
	p.Context = ctx
	p.Limit = stripe.Int64(maxSubscriptions)
	it := s.subscriptions.List(p)
	var subs []*stripe.Subscription
	for it.Next() {
		subs = append(subs, it.Subscription())
		if len(subs) == maxSubscriptions {
			break
		}
	}
	if err := it.Err(); err != nil {
		return nil, sanitize("list subscriptions", err)
	}
	return subs, nil
}
