package billing

import (
	"strings"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/shared/billing"

// LifecycleKinds are the items this package writes, in the state table and
// at Stripe (infra/registry collects them; see package lifecycle). The
// billing state itself is attributes of the account item (kind "account",
// package identity).
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "stripe_customer_link", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "links a Stripe customer id to the account it was created for (webhooks name only the customer)",
		Retention: lifecycle.Retention{Text: "until the Stripe customer is deleted", Until: "the customer's deletion"},
		Erasure:   eraseStripeCustomer, Export: "billing",
		Match: lifecycle.Fixed(StripeCustomerKey("").PK, StripeCustomerKey("").SK),
	},
	{
		Name: "stripe_event", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "the record of one Stripe event being or having been applied (event id, type, state), so a redelivery is a no-op",
		Retention: lifecycle.Retention{Text: "30 days (TTL)", TTL: true},
		Erasure:   lifecycle.ErasedByTTL,
		Export:    lifecycle.NotExported + "it holds an event's id and type, nothing about the account",
		Match:     lifecycle.Fixed(StripeEventKey("").PK, StripeEventKey("").SK),
	},
	{
		Name: "stripe_customer", Owner: lifecycleOwner, Table: lifecycle.Stripe,
		Purpose: "the account's Stripe customer: the billing email address, card, subscription and invoices, " +
			"held by Stripe (never by Atrium)",
		Retention: lifecycle.Retention{Text: "until the account is deleted; Stripe keeps invoices and payments as the law requires",
			Until: "account deletion"},
		Erasure: eraseStripeCustomer, Export: "billing",
		Match: func(id, sk string) bool { return sk == "" && len(id) > len("cus_") && strings.HasPrefix(id, "cus_") },
	},
}
