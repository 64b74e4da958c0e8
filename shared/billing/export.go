package billing

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/plans"
)

// Export is the billing state in the export: what Atrium keeps (Stripe
// keeps the rest, which the billing portal shows).
type Export struct {
	Plan                 string     `json:"plan"`
	SubscriptionStatus   string     `json:"subscription_status"`
	CurrentPeriodEnd     *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd    bool       `json:"cancel_at_period_end"`
	GraceUntil           *time.Time `json:"grace_until"`
	StripeCustomerID     *string    `json:"stripe_customer_id"`
	StripeSubscriptionID *string    `json:"stripe_subscription_id"`
}

// Exporter is this package's section of an account's export, from the
// account item read with the session.
func Exporter(store *Store) lifecycle.Exporter {
	return lifecycle.Exporter{Section: "billing", Owner: lifecycleOwner,
		Export: func(_ context.Context, sub lifecycle.Subject) (any, error) {
			var rec Record
			if err := attributevalue.UnmarshalMap(sub.Item, &rec); err != nil {
				return nil, fmt.Errorf("decode billing record: %w", err)
			}
			return exportOf(&rec, store.Now()), nil
		}}
}

// View is the account's billing as GET /v1/billing shows it.
type View struct {
	Plan               string     `json:"plan"`
	SubscriptionStatus string     `json:"subscription_status"`
	CurrentPeriodEnd   *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd  bool       `json:"cancel_at_period_end"`
	// GraceUntil is set while a failed payment is being retried: premium
	// lasts until then unless a payment succeeds.
	GraceUntil *time.Time `json:"grace_until,omitempty"`
}

// ViewOf is the billing state of rec in force at now.
func ViewOf(rec *Record, now time.Time) View {
	v := View{Plan: rec.PlanAt(now), SubscriptionStatus: cmp.Or(rec.Status, StatusNone),
		CurrentPeriodEnd: epochTime(rec.CurrentPeriodEnd), CancelAtPeriodEnd: rec.CancelAtPeriodEnd}
	if v.Plan == plans.Premium {
		v.GraceUntil = epochTime(rec.PlanGraceUntil)
	}
	return v
}

// exportOf is the view with what the export adds: the grace deadline even
// once it has passed, and the Stripe ids.
func exportOf(rec *Record, now time.Time) Export {
	v := ViewOf(rec, now)
	return Export{Plan: v.Plan, SubscriptionStatus: v.SubscriptionStatus, CurrentPeriodEnd: v.CurrentPeriodEnd,
		CancelAtPeriodEnd: v.CancelAtPeriodEnd, GraceUntil: epochTime(rec.PlanGraceUntil),
		StripeCustomerID: nonEmpty(rec.StripeCustomerID), StripeSubscriptionID: nonEmpty(rec.SubscriptionID)}
}

// epochTime is a time kept as epoch seconds, or nil when unset.
func epochTime(sec int64) *time.Time {
	if sec <= 0 {
		return nil
	}
	t := time.Unix(sec, 0).UTC()
	return &t
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
