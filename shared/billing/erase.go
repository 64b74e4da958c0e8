package billing

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

// eraseStripeCustomer is the deletion step that erases this package's kinds.
const eraseStripeCustomer = "stripe_customer"

// Eraser is this package's part of an account's deletion: the account's
// Stripe customer (deleting it cancels its subscriptions at once), then the
// link to it. The customer's id is read from the account item; once that
// is gone there is nothing left to find.
func Eraser(store *Store, stripe *Stripe) lifecycle.Eraser {
	return lifecycle.Eraser{Step: eraseStripeCustomer, Owner: lifecycleOwner,
		Erase: func(ctx context.Context, sub lifecycle.Subject, count lifecycle.Count) error {
			var a struct {
				CustomerID string `dynamodbav:"stripe_customer_id"`
			}
			if err := attributevalue.UnmarshalMap(sub.Item, &a); err != nil {
				return fmt.Errorf("decode the account's Stripe customer: %w", err)
			}
			if a.CustomerID == "" {
				return nil
			}
			if err := stripe.DeleteCustomer(ctx, a.CustomerID); err != nil {
				return err
			}
			if err := store.DeleteLink(ctx, a.CustomerID); err != nil {
				return err
			}
			if err := count("stripe_customer", 1); err != nil {
				return err
			}
			return count("billing_links", 1)
		}}
}
