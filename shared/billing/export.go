package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
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

func exportOf(rec *Record, now time.Time) Export {
	v := Export{Plan: rec.PlanAt(now), SubscriptionStatus: rec.Status, CancelAtPeriodEnd: rec.CancelAtPeriodEnd}
	if v.SubscriptionStatus == "" {
		v.SubscriptionStatus = StatusNone
	}
	epoch := func(sec int64) *time.Time {
		if sec <= 0 {
			return nil
		}
		t := time.Unix(sec, 0).UTC()
		return &t
	}
	v.CurrentPeriodEnd, v.GraceUntil = epoch(rec.CurrentPeriodEnd), epoch(rec.PlanGraceUntil)
	if rec.StripeCustomerID != "" {
		id := rec.StripeCustomerID
		v.StripeCustomerID = &id
	}
	if rec.SubscriptionID != "" {
		id := rec.SubscriptionID
		v.StripeSubscriptionID = &id
	}
	return v
}
