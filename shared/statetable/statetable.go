// Package statetable holds what every owner of the state table shares: the
// key type, the table handle, strongly consistent reads, paginated partition
// queries, conditional updates, one lease and the TTL attribute expires_at.
// It knows no item kind: each package owns its items' keys, attributes and
// conditions (identity's accounts and sessions, sources' sources, ...), and
// registers them with package lifecycle.
//
// Everything an account owns lives in the account's partition (identity's
// AccountPartition), so it can be listed with one strongly consistent Query
// and deleted without an index.
package statetable

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
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

// Raw reads the item at k strongly consistently as stored, for callers
// that hand it to several owners to decode; nil when absent or expired.
func (t Table) Raw(ctx context.Context, k Key) (map[string]types.AttributeValue, error) {
	out, err := t.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name), Key: k.AV(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get item: %w", err)
	}
	if out.Item == nil || Expired(out.Item, t.now()) {
		return nil, nil
	}
	return out.Item, nil
}

// RetryConflicts makes a DynamoDB client retry (with the SDK's jittered
// backoff, as it retries throttling) a transaction that DynamoDB cancelled
// only because another transaction wrote one of its items at the same
// moment (TransactionConflict): concurrent signups of one address, say,
// then all get their real answer instead of some failing. A transaction
// cancelled by a failed condition is never retried.
func RetryConflicts(o *dynamodb.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.Retryables = append(slices.Clone(so.Retryables), retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if conflictOnly(err) {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
	})
}

// conflictOnly reports a cancelled transaction whose reasons include a
// TransactionConflict and no failed condition.
func conflictOnly(err error) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	conflict := false
	for _, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed":
			return false
		case "TransactionConflict":
			conflict = true
		}
	}
	return conflict
}

// Items reads every unexpired item of partition pk whose sort key begins
// with skPrefix into a new T each, in sort-key order (strongly consistent,
// page by page); what names the kind in errors. Never nil.
func Items[T any](ctx context.Context, t Table, pk, skPrefix, what string) ([]*T, error) {
	out := []*T{}
	now := t.now()
	err := EachInPartition(ctx, t.DB, t.Name, pk, skPrefix, nil, func(item map[string]types.AttributeValue) error {
		if Expired(item, now) {
			return nil // TTL deletes late; reads never trust an expired item
		}
		v := new(T)
		if err := attributevalue.UnmarshalMap(item, v); err != nil {
			return fmt.Errorf("decode %s: %w", what, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
