package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Attributes of the account item that this package keeps (the plan it
// decides is package plans' attributes, written with plans.Set).
const (
	attrCustomerID        = "stripe_customer_id"
	attrStatus            = "billing_status"
	attrSubscriptionID    = "billing_subscription_id"
	attrPeriodEnd         = "billing_period_end"
	attrCancelAtPeriodEnd = "billing_cancel_at_period_end"
	// attrSyncedMillis is when the Stripe state last written was read: a
	// write of an older read never overwrites a newer one.
	attrSyncedMillis = "billing_synced_ms"
)

// Record is the account item as billing reads it: the account (package
// identity's view of the item), its plan (package plans' view) and the
// billing state this package keeps on it. A Record is itself the decoded
// item: its embedded Account holds none to decode again (DecodeAccount
// fails).
type Record struct {
	identity.Account
	plans.Stored
	// StripeCustomerID is the account's Stripe customer, once it has one.
	StripeCustomerID  string `dynamodbav:"stripe_customer_id,omitempty"`
	Status            string `dynamodbav:"billing_status,omitempty"`
	SubscriptionID    string `dynamodbav:"billing_subscription_id,omitempty"`
	CurrentPeriodEnd  int64  `dynamodbav:"billing_period_end,omitempty"`
	CancelAtPeriodEnd bool   `dynamodbav:"billing_cancel_at_period_end,omitempty"`
	SyncedMillis      int64  `dynamodbav:"billing_synced_ms,omitempty"`
}

// Store reads and writes billing state in the state table.
type Store struct {
	statetable.Table
}

// NewStore returns a Store over the state table. now may be nil (time.Now).
func NewStore(db statetable.DynamoDB, table string, now func() time.Time) *Store {
	return &Store{statetable.NewTable(db, table, now)}
}

// ErrAccountGone reports an account that no longer exists or is not active.
var ErrAccountGone = errors.New("account not found or not active")

// Record reads the account with its billing state.
func (s *Store) Record(ctx context.Context, accountID string) (*Record, error) {
	return statetable.Item[Record](ctx, s.Table, identity.AccountKey(accountID), "billing record", ErrAccountGone)
}

type customerLink struct {
	AccountID string `dynamodbav:"account_id"`
}

// AccountOf returns the account a Stripe customer was created for, or ""
// when the customer is not one of Atrium's (or its account is gone).
func (s *Store) AccountOf(ctx context.Context, customerID string) (string, error) {
	var l customerLink
	found, err := s.Get(ctx, StripeCustomerKey(customerID), &l)
	if err != nil {
		return "", fmt.Errorf("stripe customer link: %w", err)
	}
	if !found {
		return "", nil
	}
	return l.AccountID, nil
}

// ErrAlreadyLinked reports an account that already has a Stripe customer.
var ErrAlreadyLinked = errors.New("account already has a Stripe customer")

// Link records the account's Stripe customer, both ways, in one transaction:
// the account item gets the customer id only if it has none (and is
// active), and the customer's link item is created only if new. It fails
// with ErrAlreadyLinked when another call linked one first, or
// ErrAccountGone.
func (s *Store) Link(ctx context.Context, accountID, customerID string) error {
	acct, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name(statetable.PK)).
			And(identity.AccountStatusIn(identity.StatusActive)).
			And(expression.AttributeNotExists(expression.Name(attrCustomerID)))).
		WithUpdate(expression.Set(expression.Name(attrCustomerID), expression.Value(customerID))).Build()
	if err != nil {
		return fmt.Errorf("build link expression: %w", err)
	}
	item, err := attributevalue.MarshalMap(customerLink{AccountID: accountID})
	if err != nil {
		return fmt.Errorf("encode customer link: %w", err)
	}
	for k, v := range StripeCustomerKey(customerID).AV() {
		item[k] = v
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: statetable.Update(s.Name, identity.AccountKey(accountID), acct)},
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": statetable.PK}}},
	}})
	if failed, ok := statetable.CancelledByCondition(err); ok {
		if failed[0] {
			r, rerr := s.Record(ctx, accountID)
			if rerr == nil && r.StripeCustomerID != "" {
				return ErrAlreadyLinked
			}
			return ErrAccountGone
		}
		return fmt.Errorf("link stripe customer: the customer is already linked to another account")
	}
	if err != nil {
		return fmt.Errorf("link stripe customer: %w", err)
	}
	return nil
}

// ours is the condition of every sync write: the account still exists and
// is active (not being deleted), is still linked to this customer, and holds
// no state read later than this.
func ours(customerID string, readMillis int64) expression.ConditionBuilder {
	return identity.AccountStatusIn(identity.StatusActive).
		And(expression.Name(attrCustomerID).Equal(expression.Value(customerID))).
		And(expression.AttributeNotExists(expression.Name(attrSyncedMillis)).
			Or(expression.Name(attrSyncedMillis).LessThanEqual(expression.Value(readMillis))))
}

// Apply writes a state read from Stripe at readMillis onto the account. A
// past-due premium plan keeps the grace deadline set when the payment first
// failed (graceUntil applies only if none is set). It reports false, having
// written nothing, when the account is gone, no longer linked to the
// customer, or already holds a state read later.
func (s *Store) Apply(ctx context.Context, accountID, customerID string, st State, readMillis int64, graceUntil time.Time) (bool, error) {
	up := expression.Set(expression.Name(attrStatus), expression.Value(st.Status)).
		Set(expression.Name(attrCancelAtPeriodEnd), expression.Value(st.CancelAtPeriodEnd)).
		Set(expression.Name(attrSyncedMillis), expression.Value(readMillis))
	if st.SubscriptionID != "" {
		up = up.Set(expression.Name(attrSubscriptionID), expression.Value(st.SubscriptionID))
	} else {
		up = up.Remove(expression.Name(attrSubscriptionID))
	}
	if st.CurrentPeriodEnd > 0 {
		up = up.Set(expression.Name(attrPeriodEnd), expression.Value(st.CurrentPeriodEnd))
	} else {
		up = up.Remove(expression.Name(attrPeriodEnd))
	}
	up = plans.Set(up, st.Plan, st.PastDue, graceUntil)
	e, err := expression.NewBuilder().WithCondition(ours(customerID, readMillis)).WithUpdate(up).Build()
	if err != nil {
		return false, fmt.Errorf("build billing update: %w", err)
	}
	applied, err := statetable.ConditionalUpdate(ctx, s.DB, s.Name, identity.AccountKey(accountID), e)
	if err != nil {
		return false, fmt.Errorf("write billing state: %w", err)
	}
	return applied, nil
}

// Unlink forgets a customer that no longer exists at Stripe: the account
// falls back to the standard plan and loses its billing state, and the
// customer's link item goes, in one transaction (a later checkout creates a
// new customer). It reports false when the account was not linked to this
// customer any more, or holds a state read later.
func (s *Store) Unlink(ctx context.Context, accountID, customerID string, readMillis int64) (bool, error) {
	up := plans.Set(expression.Set(expression.Name(attrSyncedMillis), expression.Value(readMillis)).
		Remove(expression.Name(attrCustomerID)).Remove(expression.Name(attrStatus)).
		Remove(expression.Name(attrSubscriptionID)).Remove(expression.Name(attrPeriodEnd)).
		Remove(expression.Name(attrCancelAtPeriodEnd)), plans.Standard, false, time.Time{})
	e, err := expression.NewBuilder().WithCondition(ours(customerID, readMillis)).WithUpdate(up).Build()
	if err != nil {
		return false, fmt.Errorf("build unlink expression: %w", err)
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: statetable.Update(s.Name, identity.AccountKey(accountID), e)},
		{Delete: &types.Delete{TableName: aws.String(s.Name), Key: StripeCustomerKey(customerID).AV()}},
	}})
	if statetable.IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("unlink stripe customer: %w", err)
	}
	return true, nil
}

// DeleteLink removes a customer's link item alone (for a customer whose
// account is gone).
func (s *Store) DeleteLink(ctx context.Context, customerID string) error {
	if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.Name), Key: StripeCustomerKey(customerID).AV(),
	}); err != nil {
		return fmt.Errorf("delete stripe customer link: %w", err)
	}
	return nil
}
