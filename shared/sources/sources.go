// Package sources holds the customer's storage sources (promises P3–P5):
// their non-secret description in the state table, and their credentials in
// Secrets Manager, one secret per source, encrypted with the stack's
// customer-managed KMS key. The secret key lives in plaintext only in the
// memory of the request that writes it, and of the internal credentials
// function that reads it.
package sources

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
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Source types.
const (
	TypeS3           = "s3"
	TypeS3Compatible = "s3_compatible"
)

// Source is a storage source as stored: everything but the credentials,
// which are in the secret named by SecretARN.
type Source struct {
	ID            string       `dynamodbav:"id" json:"id"`
	AccountID     string       `dynamodbav:"account_id" json:"-"`
	Name          string       `dynamodbav:"name" json:"name"`
	Type          string       `dynamodbav:"type" json:"type"`
	Bucket        string       `dynamodbav:"bucket" json:"bucket"`
	Region        string       `dynamodbav:"region" json:"region"`
	Prefix        string       `dynamodbav:"prefix" json:"prefix"`
	Endpoint      string       `dynamodbav:"endpoint" json:"endpoint,omitempty"`
	AccessKeyHint string       `dynamodbav:"access_key_id_hint" json:"access_key_id_hint"`
	SecretARN     string       `dynamodbav:"secret_arn" json:"-"`
	CreatedAt     time.Time    `dynamodbav:"created_at" json:"created_at"`
	UpdatedAt     time.Time    `dynamodbav:"updated_at" json:"updated_at"`
	Verification  Verification `dynamodbav:"verification" json:"verification"`
}

// Verification is the last read-access check of a source's credentials.
type Verification struct {
	Status    string    `dynamodbav:"status" json:"status"` // "verified"
	CheckedAt time.Time `dynamodbav:"checked_at" json:"checked_at"`
}

// KeyHint is the part of an access key id safe to show: its last four characters.
func KeyHint(accessKeyID string) string {
	if len(accessKeyID) <= 4 {
		return accessKeyID
	}
	return accessKeyID[len(accessKeyID)-4:]
}

// Errors.
var (
	ErrNotFound     = errors.New("source not found")
	ErrLimitReached = errors.New("source limit of the plan reached")
	ErrBusy         = errors.New("another change of the source's credentials is under way")
)

// credentialsLockFor bounds how long a crashed credentials update can hold
// the source's lock.
const credentialsLockFor = time.Minute

// DynamoDB is the part of the DynamoDB API the store uses.
type DynamoDB = statetable.DynamoDB

// Store keeps source items in the state table, in their account's partition.
type Store struct {
	statetable.Table
}

// NewStore returns a Store; now may be nil (time.Now).
func NewStore(db DynamoDB, table string, now func() time.Time) *Store {
	return &Store{statetable.NewTable(db, table, now)}
}

// Get returns one of the account's sources, or ErrNotFound (also for another
// account's source: the key holds the account id).
func (s *Store) Get(ctx context.Context, accountID, sourceID string) (*Source, error) {
	return statetable.Item[Source](ctx, s.Table, statetable.SourceKey(accountID, sourceID), "source", ErrNotFound)
}

// List returns the account's sources, oldest first.
func (s *Store) List(ctx context.Context, accountID string) ([]*Source, error) {
	out := []*Source{}
	err := statetable.EachInPartition(ctx, s.DB, s.Name, statetable.AccountPartition(accountID), statetable.SourcePrefix, nil,
		func(item map[string]types.AttributeValue) error {
			var src Source
			if err := attributevalue.UnmarshalMap(item, &src); err != nil {
				return fmt.Errorf("decode source: %w", err)
			}
			out = append(out, &src)
			return nil
		})
	if err != nil {
		return nil, err
	}
	sortByCreation(out)
	return out, nil
}

// Create stores a new source and counts it against the account's limit, in
// one transaction with conditions (so concurrent creates never pass the
// limit), and clears the secret's write-ahead intent in the same write.
func (s *Store) Create(ctx context.Context, src *Source, limit int, intent *Intent) error {
	item, err := attributevalue.MarshalMap(src)
	if err != nil {
		return fmt.Errorf("encode source: %w", err)
	}
	for k, v := range statetable.SourceKey(src.AccountID, src.ID).AV() {
		item[k] = v
	}
	count, err := expression.NewBuilder().
		WithCondition(expression.Name("status").Equal(expression.Value(identity.StatusActive)).
			And(expression.AttributeNotExists(expression.Name("source_count")).
				Or(expression.Name("source_count").LessThan(expression.Value(limit))))).
		WithUpdate(expression.Add(expression.Name("source_count"), expression.Value(1))).Build()
	if err != nil {
		return fmt.Errorf("build count expression: %w", err)
	}
	fresh, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(statetable.PK))).Build()
	if err != nil {
		return fmt.Errorf("build source condition: %w", err)
	}
	items := []types.TransactWriteItem{
		{Update: statetable.Update(s.Name, statetable.AccountKey(src.AccountID), count)},
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item,
			ConditionExpression: fresh.Condition(), ExpressionAttributeNames: fresh.Names()}},
	}
	if intent != nil {
		items = append(items, intent.clear(s.Name))
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if failed, ok := statetable.CancelledByCondition(err); ok && failed[0] {
		return ErrLimitReached
	}
	if err != nil {
		return fmt.Errorf("create source: %w", err)
	}
	return nil
}

// Rename changes what the customer may change of a source: its name and prefix.
func (s *Store) Rename(ctx context.Context, accountID, sourceID string, name, prefix *string) (*Source, error) {
	up := expression.Set(expression.Name("updated_at"), expression.Value(s.Now().Format(time.RFC3339Nano)))
	if name != nil {
		up = up.Set(expression.Name("name"), expression.Value(*name))
	}
	if prefix != nil {
		up = up.Set(expression.Name("prefix"), expression.Value(*prefix))
	}
	return s.updateSource(ctx, accountID, sourceID, up)
}

// LockCredentials reserves the source for one credentials update (token
// names it), so that the secret's current value and the hint shown always
// belong to the same key: a second update meanwhile gets ErrBusy. The lock
// lapses after a minute if its holder dies.
func (s *Store) LockCredentials(ctx context.Context, accountID, sourceID, token string) error {
	now := s.Now()
	e, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name(statetable.PK)).
			And(expression.AttributeNotExists(expression.Name("credentials_lock_until")).
				Or(expression.Name("credentials_lock_until").LessThan(expression.Value(now.UnixMilli()))))).
		WithUpdate(expression.Set(expression.Name("credentials_lock"), expression.Value(token)).
			Set(expression.Name("credentials_lock_until"), expression.Value(now.Add(credentialsLockFor).UnixMilli()))).Build()
	if err != nil {
		return fmt.Errorf("build lock: %w", err)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Name), Key: statetable.SourceKey(accountID, sourceID).AV(),
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if statetable.IsConditionFailed(err) {
		return s.notFoundOr(ctx, accountID, sourceID, ErrBusy)
	}
	if err != nil {
		return fmt.Errorf("lock source credentials: %w", err)
	}
	return nil
}

// UnlockCredentials gives up a lock the token holds (best effort: it lapses anyway).
func (s *Store) UnlockCredentials(ctx context.Context, accountID, sourceID, token string) error {
	e, err := expression.NewBuilder().
		WithCondition(expression.Name("credentials_lock").Equal(expression.Value(token))).
		WithUpdate(expression.Remove(expression.Name("credentials_lock")).Remove(expression.Name("credentials_lock_until"))).Build()
	if err != nil {
		return fmt.Errorf("build unlock: %w", err)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Name), Key: statetable.SourceKey(accountID, sourceID).AV(),
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if err != nil && !statetable.IsConditionFailed(err) {
		return fmt.Errorf("unlock source credentials: %w", err)
	}
	return nil
}

// Verified records a successful read-access check and the new key's hint,
// releasing the credentials lock the token holds; ErrBusy if the lock was
// lost meanwhile, ErrNotFound if the source was deleted.
func (s *Store) Verified(ctx context.Context, accountID, sourceID, keyHint, token string) (*Source, error) {
	now := s.Now().Format(time.RFC3339Nano)
	e, err := expression.NewBuilder().
		WithCondition(expression.Name("credentials_lock").Equal(expression.Value(token))).
		WithUpdate(expression.Set(expression.Name("updated_at"), expression.Value(now)).
			Set(expression.Name("access_key_id_hint"), expression.Value(keyHint)).
			Set(expression.Name("verification"), expression.Value(map[string]string{"status": "verified", "checked_at": now})).
			Remove(expression.Name("credentials_lock")).Remove(expression.Name("credentials_lock_until"))).Build()
	if err != nil {
		return nil, fmt.Errorf("build verified update: %w", err)
	}
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Name), Key: statetable.SourceKey(accountID, sourceID).AV(),
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(), ReturnValues: types.ReturnValueAllNew,
	})
	if statetable.IsConditionFailed(err) {
		return nil, s.notFoundOr(ctx, accountID, sourceID, ErrBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("record verification: %w", err)
	}
	var src Source
	if err := attributevalue.UnmarshalMap(out.Attributes, &src); err != nil {
		return nil, fmt.Errorf("decode source: %w", err)
	}
	return &src, nil
}

// notFoundOr tells a failed condition on a source apart: ErrNotFound if the
// source is gone, otherwise the given error.
func (s *Store) notFoundOr(ctx context.Context, accountID, sourceID string, otherwise error) error {
	if _, err := s.Get(ctx, accountID, sourceID); errors.Is(err, ErrNotFound) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	return otherwise
}

func (s *Store) updateSource(ctx context.Context, accountID, sourceID string, up expression.UpdateBuilder) (*Source, error) {
	e, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(statetable.PK))).
		WithUpdate(up).Build()
	if err != nil {
		return nil, fmt.Errorf("build source update: %w", err)
	}
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Name), Key: statetable.SourceKey(accountID, sourceID).AV(),
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(), ReturnValues: types.ReturnValueAllNew,
	})
	if statetable.IsConditionFailed(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("update source: %w", err)
	}
	var src Source
	if err := attributevalue.UnmarshalMap(out.Attributes, &src); err != nil {
		return nil, fmt.Errorf("decode source: %w", err)
	}
	return &src, nil
}

// Delete removes a source's item and gives its place in the limit back, in
// one transaction; ErrNotFound if it is already gone.
func (s *Store) Delete(ctx context.Context, accountID, sourceID string) error {
	exists, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(statetable.PK))).Build()
	if err != nil {
		return fmt.Errorf("build delete condition: %w", err)
	}
	count, err := expression.NewBuilder().
		WithCondition(expression.Name("source_count").GreaterThan(expression.Value(0))).
		WithUpdate(expression.Add(expression.Name("source_count"), expression.Value(-1))).Build()
	if err != nil {
		return fmt.Errorf("build count expression: %w", err)
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.Name), Key: statetable.SourceKey(accountID, sourceID).AV(),
			ConditionExpression: exists.Condition(), ExpressionAttributeNames: exists.Names()}},
		{Update: statetable.Update(s.Name, statetable.AccountKey(accountID), count)},
	}})
	if failed, ok := statetable.CancelledByCondition(err); ok && failed[0] {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete source: %w", err)
	}
	return nil
}
