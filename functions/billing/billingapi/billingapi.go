// Package billingapi is the billing function: it sends the signed-in customer
// to Stripe-hosted Checkout and Customer Portal pages (no card data ever
// passes through Atrium, P2) and shows the account's billing as the Stripe
// webhook last wrote it. The same handler runs in Lambda (functions/billing)
// and in the local stack.
package billingapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{
	"POST /v1/billing/checkout",
	"POST /v1/billing/portal",
	"GET /v1/billing",
}

// Service holds the billing function's dependencies.
type Service struct {
	Stripe  *billing.Stripe
	Store   *billing.Store
	PriceID string
	// AppURL is the dashboard's base URL: Stripe's pages send the customer
	// back to AppURL/billing.
	AppURL string
	Logger *slog.Logger
}

// New builds the billing function from its environment.
func New(ctx context.Context, env coldstart.Env) (http.Handler, error) {
	b, err := coldstart.Load(ctx, "billing", env)
	if err != nil {
		return nil, err
	}
	set := billing.ReadSettings(b.Config)
	appURL := strings.TrimRight(b.Config.Required("APP_BASE_URL"), "/")
	if err := b.Finish(); err != nil {
		return nil, err
	}
	client, _, err := billing.Open(ctx, set, b.SecretJSON, false)
	if err != nil {
		return nil, err
	}
	s := &Service{Stripe: client, Store: billing.NewStore(b.DynamoDB, b.Table, b.Now),
		PriceID: set.PriceID, AppURL: appURL, Logger: b.Logger}
	return b.Serve(s.Routes(b.Auth)), nil
}

// Routes returns the function's router, each route behind auth.
func (s *Service) Routes(auth *identity.Authenticator) *web.Router {
	rt := web.NewRouter(s.Logger)
	rt.Handle("POST /v1/billing/checkout", auth.Require(s.checkout))
	rt.Handle("POST /v1/billing/portal", auth.Require(s.portal))
	rt.Handle("GET /v1/billing", auth.Require(s.view))
	return rt
}

// CheckoutRequest is the body of POST /v1/billing/checkout.
type CheckoutRequest struct {
	Plan string `json:"plan"`
}

// URLResponse carries the Stripe-hosted page to send the customer to.
type URLResponse struct {
	URL string `json:"url"`
}

func unavailable(err error) error {
	if errors.Is(err, billing.ErrStripe) {
		return web.CodeBillingUnavailable.New().WithCause(err)
	}
	return err
}

var errGone = web.CodeUnauthenticated.New()

// account is the signed-in account with its billing state, as read with
// the session (which only an active account's authenticates).
func (s *Service) account(ctx context.Context) (*billing.Record, error) {
	var rec billing.Record
	if err := identity.SessionFrom(ctx).DecodeAccount(&rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

func (s *Service) checkout(w http.ResponseWriter, r *http.Request) error {
	var req CheckoutRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Plan != plans.Premium {
		return web.Invalid(web.FieldError{Field: "plan", Code: "invalid", Detail: `The plan to buy must be "premium".`})
	}
	ctx := r.Context()
	rec, err := s.account(ctx)
	if err != nil {
		return err
	}
	acct := &rec.Account
	if rec.PlanAt(s.Store.Now()) == plans.Premium {
		return web.CodeAlreadySubscribed.Errorf(
			"This account already has premium (subscription %s). Manage it through POST /v1/billing/portal.", rec.Status)
	}
	customerID, err := s.customer(ctx, rec)
	if err != nil {
		return err
	}
	url, err := s.Stripe.CheckoutURL(ctx, customerID, acct.ID, s.PriceID,
		s.AppURL+"/billing?checkout=success", s.AppURL+"/billing?checkout=cancelled")
	if err != nil {
		return unavailable(err)
	}
	s.Logger.InfoContext(ctx, "checkout started", "account_id", acct.ID)
	web.WriteJSON(w, http.StatusOK, URLResponse{URL: url})
	return nil
}

// customer returns the account's Stripe customer, creating it on first use:
// once per account, also under concurrent calls (Stripe's idempotency key
// makes them one customer; the conditional link keeps the first).
func (s *Service) customer(ctx context.Context, linked *billing.Record) (string, error) {
	if linked.StripeCustomerID != "" {
		return linked.StripeCustomerID, nil
	}
	acct := &linked.Account
	id, err := s.Stripe.CreateCustomer(ctx, acct.ID, acct.Email)
	if err != nil {
		return "", unavailable(err)
	}
	err = s.Store.Link(ctx, acct.ID, id)
	switch {
	case err == nil:
		return id, nil
	case errors.Is(err, billing.ErrAlreadyLinked):
		rec, rerr := s.Store.Record(ctx, acct.ID)
		if rerr != nil {
			return "", rerr
		}
		if rec.StripeCustomerID != id {
			// Another call linked a different customer (past the
			// idempotency key's window): this one is surplus.
			if derr := s.Stripe.DeleteCustomer(ctx, id); derr != nil {
				s.Logger.WarnContext(ctx, "surplus stripe customer not deleted", "account_id", acct.ID, "error", derr)
			}
		}
		return rec.StripeCustomerID, nil
	case errors.Is(err, billing.ErrAccountGone):
		if derr := s.Stripe.DeleteCustomer(ctx, id); derr != nil {
			s.Logger.WarnContext(ctx, "stripe customer of a gone account not deleted", "account_id", acct.ID, "error", derr)
		}
		return "", errGone
	default:
		return "", fmt.Errorf("link customer: %w", err)
	}
}

func (s *Service) portal(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	acct, err := s.account(ctx)
	if err != nil {
		return err
	}
	if acct.StripeCustomerID == "" {
		return web.CodeNoBillingAccount.New()
	}
	url, err := s.Stripe.PortalURL(ctx, acct.StripeCustomerID, s.AppURL+"/billing")
	if err != nil {
		return unavailable(err)
	}
	web.WriteJSON(w, http.StatusOK, URLResponse{URL: url})
	return nil
}

// View is the account's billing as GET /v1/billing shows it.
type View = billing.View

func (s *Service) view(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rec, err := s.account(ctx)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, billing.ViewOf(rec, s.Store.Now()))
	return nil
}
