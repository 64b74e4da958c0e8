package billing

import (
	"context"
	"fmt"
	"time"
)

// Outcome says what a sync did.
type Outcome string

// Outcomes of a sync.
const (
	Applied         Outcome = "applied"          // the account now holds the customer's current state
	Superseded      Outcome = "superseded"       // a state read later was already written
	UnknownCustomer Outcome = "unknown_customer" // not Atrium's customer, or its account is gone
	CustomerDeleted Outcome = "customer_deleted" // the customer is gone at Stripe; the account is unlinked
)

// Syncer writes a Stripe customer's current state onto its account.
type Syncer struct {
	Stripe       *Stripe
	Store        *Store
	PremiumPrice string
	// Grace is how long a premium plan lasts after its payment first failed.
	Grace time.Duration
}

// Sync reads the customer and all its subscriptions from Stripe now, and
// writes the plan they imply onto the customer's account. It trusts neither
// the order of events nor their copies of objects: whatever event caused
// it, the state written is Stripe's current one, and a read older than the
// stored one is never written over it. Running it twice is harmless.
func (s *Syncer) Sync(ctx context.Context, customerID string) (Outcome, string, error) {
	accountID, err := s.Store.AccountOf(ctx, customerID)
	if err != nil {
		return "", "", err
	}
	if accountID == "" {
		return UnknownCustomer, "", nil
	}
	// The clock is read before Stripe is: a read that began later sees a
	// state at least as new.
	readAt := s.Store.Now()
	exists, err := s.Stripe.CustomerExists(ctx, customerID)
	if err != nil {
		return "", accountID, err
	}
	if !exists {
		ok, err := s.Store.Unlink(ctx, accountID, customerID, readAt.UnixMilli())
		if err != nil {
			return "", accountID, err
		}
		if !ok {
			return s.unmatched(ctx, accountID, customerID)
		}
		return CustomerDeleted, accountID, nil
	}
	subs, err := s.Stripe.Subscriptions(ctx, customerID)
	if err != nil {
		return "", accountID, err
	}
	st := Evaluate(subs, s.PremiumPrice)
	ok, err := s.Store.Apply(ctx, accountID, customerID, st, readAt.UnixMilli(), readAt.Add(s.Grace))
	if err != nil {
		return "", accountID, err
	}
	if !ok {
		return s.unmatched(ctx, accountID, customerID)
	}
	return Applied, accountID, nil
}

// unmatched explains a write whose condition failed: either the account no
// longer belongs to the customer (then the stale link goes) or a newer
// state was written first.
func (s *Syncer) unmatched(ctx context.Context, accountID, customerID string) (Outcome, string, error) {
	r, err := s.Store.Record(ctx, accountID)
	if err != nil && err != ErrAccountGone {
		return "", accountID, err
	}
	if r != nil && r.StripeCustomerID == customerID {
		return Superseded, accountID, nil
	}
	if err := s.Store.DeleteLink(ctx, customerID); err != nil {
		return "", accountID, fmt.Errorf("forget customer of a gone account: %w", err)
	}
	return UnknownCustomer, accountID, nil
}
