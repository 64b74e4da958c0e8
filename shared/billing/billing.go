// Package billing keeps an account's plan in step with Stripe (P2: card
// numbers never touch Atrium). Customers pay on Stripe-hosted pages; Stripe's
// signed webhooks say that something changed; this package then reads the
// customer's current subscriptions from the Stripe API and writes the
// resulting plan onto the account item (with package plans' writes), where
// every function reads it through package plans.
//
// It holds the Stripe client (pinned to stripe-go v76's API version), the
// link between an account and its Stripe customer (both ways, created once),
// the sync of a customer's state, and the ledger that applies each webhook
// event once.
package billing

import (
	"sort"

	"github.com/stripe/stripe-go/v76"

	"github.com/atrium-cdn/atrium/shared/plans"
)

// StatusNone is the subscription status of an account without a premium
// subscription.
const StatusNone = "none"

// State is what an account's billing looks like after a sync: the plan and
// the subscription that decides it.
type State struct {
	Plan              string
	Status            string // the subscription's Stripe status, or StatusNone
	SubscriptionID    string
	CurrentPeriodEnd  int64 // epoch seconds; 0 when unknown
	CancelAtPeriodEnd bool
	// PastDue says the premium plan is kept only through the grace period.
	PastDue bool
}

// rank orders subscription statuses by how much they entitle: an active
// subscription wins over one whose payment failed, which wins over
// everything that grants nothing.
func rank(status stripe.SubscriptionStatus) int {
	switch status {
	case stripe.SubscriptionStatusActive, stripe.SubscriptionStatusTrialing:
		return 3
	case stripe.SubscriptionStatusPastDue:
		return 2
	default: // canceled, unpaid, incomplete, incomplete_expired, paused
		return 1
	}
}

// hasPrice reports whether the subscription bills the price.
func hasPrice(s *stripe.Subscription, priceID string) bool {
	if s.Items == nil {
		return false
	}
	for _, it := range s.Items.Data {
		if it != nil && it.Price != nil && it.Price.ID == priceID {
			return true
		}
	}
	return false
}

// Evaluate derives the billing state from all of a customer's subscriptions,
// whatever the order the events about them arrived in: the subscriptions to
// the premium price are ranked by status (active or trialing, then past
// due, then the rest) and, within a status, the newest decides.
func Evaluate(subs []*stripe.Subscription, premiumPrice string) State {
	var premium []*stripe.Subscription
	for _, s := range subs {
		if s != nil && hasPrice(s, premiumPrice) {
			premium = append(premium, s)
		}
	}
	if len(premium) == 0 {
		return State{Plan: plans.Standard, Status: StatusNone}
	}
	sort.SliceStable(premium, func(i, j int) bool {
		ri, rj := rank(premium[i].Status), rank(premium[j].Status)
		if ri != rj {
			return ri > rj
		}
		if premium[i].Created != premium[j].Created {
			return premium[i].Created > premium[j].Created
		}
		return premium[i].ID > premium[j].ID
	})
	best := premium[0]
	st := State{Plan: plans.Standard, Status: string(best.Status), SubscriptionID: best.ID,
		CurrentPeriodEnd: best.CurrentPeriodEnd, CancelAtPeriodEnd: best.CancelAtPeriodEnd}
	switch rank(best.Status) {
	case 3:
		st.Plan = plans.Premium
	case 2:
		st.Plan, st.PastDue = plans.Premium, true
	}
	return st
}
