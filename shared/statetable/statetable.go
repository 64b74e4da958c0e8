// Package statetable describes the layout of the state table: one DynamoDB
// table holding accounts, email claims, sessions and single-use tokens, each
// kind under its own key prefix, with the TTL attribute expires_at.
//
// Everything an account owns lives in the account's partition
// (pk = ACCOUNT#<id>), so it can be listed with one strongly consistent
// Query and deleted without an index.
package statetable

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names shared by every item.
const (
	PK        = "pk"
	SK        = "sk"
	ExpiresAt = "expires_at" // epoch seconds; the table's TTL attribute
)

// Key is a primary key of the state table.
type Key struct {
	PK, SK string
}

// AV returns the key as DynamoDB attribute values.
func (k Key) AV() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		PK: &types.AttributeValueMemberS{Value: k.PK},
		SK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

// AccountPartition is the partition key of everything an account owns.
func AccountPartition(accountID string) string { return "ACCOUNT#" + accountID }

// AccountKey is the key of an account's profile item.
func AccountKey(accountID string) Key { return Key{AccountPartition(accountID), "ACCOUNT"} }

// SessionKey is the key of one session of an account.
func SessionKey(accountID, sessionID string) Key {
	return Key{AccountPartition(accountID), SessionPrefix + sessionID}
}

// SessionPrefix begins the sort key of every session item.
const SessionPrefix = "SESSION#"

// EmailClaimKey is the key of the item that reserves an address for one account.
func EmailClaimKey(normalizedEmail string) Key { return Key{"EMAIL#" + normalizedEmail, "EMAIL"} }

// TokenKey is the key of a single-use token, stored by the hash of its value.
func TokenKey(kind, tokenHash string) Key { return Key{"TOKEN#" + kind + "#" + tokenHash, "TOKEN"} }

// TokenRefPrefix begins the sort key of the items that point from an
// account's partition to its single-use tokens, so that deleting an account
// finds them without a scan.
const TokenRefPrefix = "TOKENREF#"

// TokenRefKey is the key of the pointer to one of an account's tokens; its
// sort key after the prefix is "<kind>#<token hash>".
func TokenRefKey(accountID, kind, tokenHash string) Key {
	return Key{AccountPartition(accountID), TokenRefPrefix + kind + "#" + tokenHash}
}

// Epoch renders t as the epoch-seconds number DynamoDB TTL expects.
func Epoch(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}

// Expired reports whether item carries an expires_at at or before now. Reads
// use it because DynamoDB TTL deletes expired items late, sometimes days late.
func Expired(item map[string]types.AttributeValue, now time.Time) bool {
	n, ok := item[ExpiresAt].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	sec, err := strconv.ParseInt(n.Value, 10, 64)
	return err != nil || sec <= now.Unix()
}

// IsConditionFailed reports whether err is a failed condition of a single
// write, or a transaction cancelled because one of its conditions failed.
func IsConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	_, ok := CancelledByCondition(err)
	return ok
}

// CancelledByCondition reports, for a cancelled transaction, which of its
// items failed their condition (by index).
func CancelledByCondition(err error) ([]bool, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	failed := make([]bool, len(tce.CancellationReasons))
	any := false
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			failed[i], any = true, true
		}
	}
	return failed, any
}

// ThrottleKey is the key of a consecutive-failure counter (kind "login")
// for a subject's pseudonym.
func ThrottleKey(kind, pseudonym string) Key {
	return Key{"THROTTLE#" + kind + "#" + pseudonym, "THROTTLE"}
}

// RateKey is the key of one fixed window of a per-client rate counter.
func RateKey(action, pseudonym string, windowStart int64) Key {
	return Key{"RATE#" + action + "#" + pseudonym, strconv.FormatInt(windowStart, 10)}
}

// SourcePrefix begins the sort key of every source item of an account.
const SourcePrefix = "SOURCE#"

// SourceKey is the key of one of an account's storage sources.
func SourceKey(accountID, sourceID string) Key {
	return Key{AccountPartition(accountID), SourcePrefix + sourceID}
}

// IntentPartition holds the write-ahead records of secrets being created or
// deleted, so that a secret orphaned by a crash can be found and removed.
const IntentPartition = "INTENT#source-secret"

// IntentKey is the key of one such record; its sort key orders by time.
func IntentKey(createdMillis int64, sourceID string) Key {
	return Key{IntentPartition, fmt.Sprintf("%013d#%s", createdMillis, sourceID)}
}

// DynamoDB is the part of the DynamoDB API the state table's users call;
// *dynamodb.Client satisfies it, and tests wrap it to inject faults.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// EachInPartition calls fn with every item of a partition whose sort key
// begins with skPrefix (every item when it is empty), in sort-key order, reading strongly consistently and
// page by page. projection, when given, limits the attributes read.
func EachInPartition(ctx context.Context, db DynamoDB, table, pk, skPrefix string, projection []string,
	fn func(item map[string]types.AttributeValue) error) error {
	cond := expression.Key(PK).Equal(expression.Value(pk))
	if skPrefix != "" { // DynamoDB refuses begins_with with an empty prefix
		cond = cond.And(expression.Key(SK).BeginsWith(skPrefix))
	}
	b := expression.NewBuilder().WithKeyCondition(cond)
	if len(projection) > 0 {
		names := make([]expression.NameBuilder, len(projection))
		for i, p := range projection {
			names[i] = expression.Name(p)
		}
		b = b.WithProjection(expression.NamesList(names[0], names[1:]...))
	}
	e, err := b.Build()
	if err != nil {
		return fmt.Errorf("build partition query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: e.KeyCondition(), ProjectionExpression: e.Projection(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query partition: %w", err)
		}
		for _, item := range page.Items {
			if err := fn(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get reads one item strongly consistently into dst and reports whether it
// was there. An item whose expires_at has passed counts as absent: TTL
// deletes late, and reads never trust an expired item.
func Get(ctx context.Context, db DynamoDB, table string, k Key, now time.Time, dst any) (bool, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: k.AV(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fmt.Errorf("get item: %w", err)
	}
	if out.Item == nil || Expired(out.Item, now) {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(out.Item, dst); err != nil {
		return false, fmt.Errorf("decode item: %w", err)
	}
	return true, nil
}

// StripeCustomerKey is the key of the item that links a Stripe customer to
// the account it was created for (the account item links back).
func StripeCustomerKey(customerID string) Key {
	return Key{"STRIPE_CUSTOMER#" + customerID, "STRIPE_CUSTOMER"}
}

// StripeEventKey is the key of the record of one Stripe event being or
// having been processed, which makes a redelivery a no-op.
func StripeEventKey(eventID string) Key { return Key{"STRIPE_EVENT#" + eventID, "STRIPE_EVENT"} }

// Update is a transaction entry that applies e (its condition and update)
// to the item k.
func Update(table string, k Key, e expression.Expression) *types.Update {
	return &types.Update{TableName: aws.String(table), Key: k.AV(),
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}
}

// ConditionalUpdate applies e to the item k on its own. It reports false,
// having changed nothing, when e's condition does not hold.
func ConditionalUpdate(ctx context.Context, db DynamoDB, table string, k Key, e expression.Expression) (bool, error) {
	u := Update(table, k, e)
	_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key,
		ConditionExpression: u.ConditionExpression, UpdateExpression: u.UpdateExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
	if IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// DeletionKey is the key of an account-deletion job (and, once finished,
// its receipt).
func DeletionKey(deletionID string) Key { return Key{"DELETION#" + deletionID, "DELETION"} }

// PendingDeletionPartition lists the deletion jobs not yet finished, so the
// scheduled housekeeping can resume stalled ones without a scan.
const PendingDeletionPartition = "DELETIONS#pending"

// PendingDeletionKey is the key of one unfinished job's entry; its sort key
// orders by the time the deletion was accepted.
func PendingDeletionKey(acceptedMillis int64, deletionID string) Key {
	return Key{PendingDeletionPartition, fmt.Sprintf("%013d#%s", acceptedMillis, deletionID)}
}

// Table is the state table as a store sees it: the client, the table's
// name and the clock by which expired items count as absent. Each package's
// store embeds one.
type Table struct {
	DB   DynamoDB
	Name string
	now  func() time.Time
}

// NewTable returns a Table; now may be nil (time.Now).
func NewTable(db DynamoDB, name string, now func() time.Time) Table {
	if now == nil {
		now = time.Now
	}
	return Table{DB: db, Name: name, now: now}
}

// Now is the table's clock, in UTC.
func (t Table) Now() time.Time { return t.now().UTC() }

// Get reads one item strongly consistently into dst and reports whether it
// was there and unexpired (see the package function Get).
func (t Table) Get(ctx context.Context, k Key, dst any) (bool, error) {
	return Get(ctx, t.DB, t.Name, k, t.now(), dst)
}

// ErrNotFound is the one not-found family of the stores: each store's own
// not-found error (made with NotFound) is it, so errors.Is(err,
// statetable.ErrNotFound) holds for an absent, expired or hidden item of
// any kind, while errors.Is(err, sources.ErrNotFound) still tells a source
// apart from an account.
var ErrNotFound = errors.New("not found")

// NotFound returns a store's not-found sentinel: an error saying message,
// which is ErrNotFound and no other store's sentinel.
func NotFound(message string) error { return &notFoundError{message} }

type notFoundError struct{ message string }

func (e *notFoundError) Error() string { return e.message }
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// Item reads the item at k into a new T; an absent or expired item is
// notFound. what names the item in errors.
func Item[T any](ctx context.Context, t Table, k Key, what string, notFound error) (*T, error) {
	var v T
	found, err := t.Get(ctx, k, &v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !found {
		return nil, notFound
	}
	return &v, nil
}
