// Package plans owns an account's plan: the plan attributes of the account
// item (plan, plan_grace_until), their decoding, the rule of the plan in
// force (PlanAt) and the writes that change them. Package billing decides
// the plan from Stripe and writes it with Set; every function that gates on
// the plan (sources, compliance, the account view) reads it through this
// package, which links neither stripe-go nor any store.
package plans

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Plans.
const (
	Standard = "standard"
	Premium  = "premium"
)

// The attributes of the account item this package owns.
const (
	attrPlan = "plan"
	// attrGraceUntil (epoch seconds), when set, is when a premium plan whose
	// payment failed falls back to standard unless a payment succeeds first.
	attrGraceUntil = "plan_grace_until"
)

// Stored is the plan as the account item holds it. Another owner's view of
// the account item embeds it to read the plan along with its own attributes
// (billing.Record, sources.Usage).
type Stored struct {
	Plan string `dynamodbav:"plan"`
	// PlanGraceUntil (epoch seconds), when set, is when a premium plan whose
	// payment failed falls back to standard unless a payment succeeds first
	// (kept by package billing from Stripe's webhooks).
	PlanGraceUntil int64 `dynamodbav:"plan_grace_until,omitempty"`
}

// PlanAt is the plan in force at now: the stored plan, except that a premium
// plan in its grace period after a failed payment is standard once the
// grace period is over. Every function that gates on the plan asks this.
func (s Stored) PlanAt(now time.Time) string {
	if s.Plan == Premium && s.PlanGraceUntil != 0 && now.Unix() >= s.PlanGraceUntil {
		return Standard
	}
	if s.Plan == "" {
		return Standard
	}
	return s.Plan
}

// AccountItem is an account item as package identity hands it out, read
// once (an identity.Account or an identity.Session): each owner decodes its
// own attributes from it.
type AccountItem interface {
	DecodeAccount(dst any) error
}

// Of decodes the plan from the account item, without reading it again.
func Of(item AccountItem) (Stored, error) {
	var s Stored
	if err := item.DecodeAccount(&s); err != nil {
		return Stored{}, fmt.Errorf("decode plan: %w", err)
	}
	return s, nil
}

// Initial is the plan part of a new account item: the standard plan.
func Initial() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPlan: &types.AttributeValueMemberS{Value: Standard}}
}

// Set adds to up the writes that make plan the stored plan. A plan kept
// only while a failed payment is retried (pastDue) keeps the grace deadline
// set when the payment first failed, or gets graceUntil if none is set;
// otherwise the deadline goes.
func Set(up expression.UpdateBuilder, plan string, pastDue bool, graceUntil time.Time) expression.UpdateBuilder {
	up = up.Set(expression.Name(attrPlan), expression.Value(plan))
	if pastDue {
		return up.Set(expression.Name(attrGraceUntil),
			expression.IfNotExists(expression.Name(attrGraceUntil), expression.Value(graceUntil.Unix())))
	}
	return up.Remove(expression.Name(attrGraceUntil))
}
