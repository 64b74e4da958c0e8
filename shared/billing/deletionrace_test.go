package billing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// TestBillingWritesRacingDeletion: the customer link and the sync's writes
// change nothing once the account's deletion is accepted, nor once it has
// finished (no account item is ever recreated, no link item created).
func TestBillingWritesRacingDeletion(t *testing.T) {
	st := testenv.NewStack(t)
	client := stack.DynamoDBClient(st.DynamoDBEndpoint)
	table := st.Tables["StateTable"]
	accounts := identity.NewStore(client, table, nil)
	store := billing.NewStore(client, table, nil)
	ctx := t.Context()
	raw := func(k statetable.Key) map[string]types.AttributeValue {
		t.Helper()
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: k.AV(), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	premium := billing.State{Plan: plans.Premium, Status: "active", SubscriptionID: "sub_race"}

	for _, finished := range []bool{false, true} {
		name := map[bool]string{false: "deletion accepted", true: "deletion finished"}[finished]
		// race makes an account (linked to a customer when linked), then
		// accepts its deletion and, when finished, removes its item.
		race := func(t *testing.T, linked bool) (string, string) {
			id := testenv.ActiveAccount(t, accounts, time.Now())
			customer := "cus_" + ids.New("x")[2:]
			if linked {
				if err := store.Link(ctx, id, customer); err != nil {
					t.Fatal(err)
				}
			}
			acct, err := accounts.Account(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if _, created, err := deletion.NewStore(client, table, nil).Accept(ctx, acct); err != nil || !created {
				t.Fatalf("accept deletion: %v %v", created, err)
			}
			if finished {
				for _, k := range []statetable.Key{identity.AccountKey(id), billing.StripeCustomerKey(customer)} {
					if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: k.AV()}); err != nil {
						t.Fatal(err)
					}
				}
			}
			return id, customer
		}
		t.Run(name+"/link", func(t *testing.T) {
			id, customer := race(t, false)
			before := raw(identity.AccountKey(id))
			if err := store.Link(ctx, id, customer); !errors.Is(err, billing.ErrAccountGone) {
				t.Fatalf("Link: %v, want ErrAccountGone", err)
			}
			if it := raw(billing.StripeCustomerKey(customer)); it != nil {
				t.Fatal("a link item was created")
			}
			if after := raw(identity.AccountKey(id)); (after == nil) != (before == nil) || after["stripe_customer_id"] != nil {
				t.Fatalf("the account item changed: %v", after)
			}
		})
		t.Run(name+"/apply", func(t *testing.T) {
			id, customer := race(t, true)
			before := raw(identity.AccountKey(id))
			ok, err := store.Apply(ctx, id, customer, premium, time.Now().UnixMilli(), time.Now().Add(time.Hour))
			if err != nil || ok {
				t.Fatalf("Apply: %v %v, want nothing applied", ok, err)
			}
			after := raw(identity.AccountKey(id))
			if (after == nil) != (before == nil) || after["billing_synced_ms"] != nil {
				t.Fatalf("the account item changed: %v", after)
			}
		})
		t.Run(name+"/unlink", func(t *testing.T) {
			id, customer := race(t, true)
			link := raw(billing.StripeCustomerKey(customer))
			ok, err := store.Unlink(ctx, id, customer, time.Now().UnixMilli())
			if err != nil || ok {
				t.Fatalf("Unlink: %v %v, want nothing written", ok, err)
			}
			if after := raw(identity.AccountKey(id)); finished && after != nil {
				t.Fatalf("the account item was recreated: %v", after)
			}
			// The link stays for the deletion's Stripe step, which deletes
			// the customer with it.
			if got := raw(billing.StripeCustomerKey(customer)); (got == nil) != (link == nil) {
				t.Fatalf("the link item changed: %v", got)
			}
		})
	}
}
