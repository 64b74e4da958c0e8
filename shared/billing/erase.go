package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

// eraseStripeCustomer is the deletion step that erases this package's kinds.
const eraseStripeCustomer = "stripe_customer"

// ErrStripeNotConfigured: the account has a Stripe customer to delete, and the
// Stripe secret holds no key yet.
var ErrStripeNotConfigured = errors.New("stripe: the account has a Stripe customer, and the Stripe secret holds no key yet (its placeholder): set it, and the deletion resumes")

// Eraser is this package's part of an account's deletion: the account's
// Stripe customer (deleting it cancels its subscriptions at once), then the
// link to it. The customer's id is read from the account item; once that
// is gone there is nothing left to find.
//
// stripe is nil while the Stripe secret holds the stack's placeholder: an
// account without a customer is erased as ever, one with a customer fails
// with ErrStripeNotConfigured (the job resumes once the secret is set).
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
			if stripe == nil {
				return ErrStripeNotConfigured
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
