package billing

import "github.com/atrium-cdn/atrium/shared/statetable"

// The keys of the items billing owns in the state table: the links from
// Stripe customers to accounts and the ledger of Stripe events.

// StripeCustomerKey is the key of the item that links a Stripe customer to
// the account it was created for (the account item links back).
func StripeCustomerKey(customerID string) statetable.Key {
	return statetable.Key{PK: "STRIPE_CUSTOMER#" + customerID, SK: "STRIPE_CUSTOMER"}
}

// StripeEventKey is the key of the record of one Stripe event being or
// having been processed, which makes a redelivery a no-op.
func StripeEventKey(eventID string) statetable.Key {
	return statetable.Key{PK: "STRIPE_EVENT#" + eventID, SK: "STRIPE_EVENT"}
}
