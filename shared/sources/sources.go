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
	// CredentialsLock is set while new keys are being put into the secret
	// (LockCredentials to Verified): the internal credentials function then
	// reads the secret rather than its cache.
	CredentialsLock string `dynamodbav:"credentials_lock,omitempty" json:"-"`
}

// Verification is the last read-access check of a source's credentials.
type Verification struct {
	// Status is StatusVerified, or StatusUnverified once the prefix has
	// changed since the check.
	Status string `dynamodbav:"status" json:"status"`
	// CheckedAt is when the keys last passed a read check.
	CheckedAt time.Time `dynamodbav:"checked_at" json:"checked_at"`
}

// Verification statuses.
const (
	// StatusVerified: the keys passed a read check of the source's location.
	StatusVerified = "verified"
	// StatusUnverified: the location changed (a new prefix) after the last
	// check; sending the keys again (PUT .../credentials) checks them anew.
	StatusUnverified = "unverified"
)

// KeyHint is the part of an access key id safe to show: its last four characters.
func KeyHint(accessKeyID string) string {
	if len(accessKeyID) <= 4 {
		return accessKeyID
	}
	return accessKeyID[len(accessKeyID)-4:]
}

// Errors.
var (
	ErrNotFound     = statetable.NotFound("source not found")
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
	return statetable.Item[Source](ctx, s.Table, SourceKey(accountID, sourceID), "source", ErrNotFound)
}

// List returns the account's sources, oldest first.
func (s *Store) List(ctx context.Context, accountID string) ([]*Source, error) {
	out, err := statetable.Items[Source](ctx, s.Table, identity.AccountPartition(accountID), SourcePrefix, "source")
	if err != nil {
		return nil, err
	}
	sortByCreation(out)
	return out, nil
}

// Create stores a new source and counts it against the account's limit, in
// one transaction with conditions (so concurrent creates never pass the
// limit, and none lands once the account's deletion is accepted), and
// clears the secret's write-ahead intent in the same write. It fails with
// ErrLimitReached, or ErrAccountNotActive.
func (s *Store) Create(ctx context.Context, src *Source, limit int, intent *Intent) error {
	item, err := attributevalue.MarshalMap(src)
	if err != nil {
		return fmt.Errorf("encode source: %w", err)
	}
	for k, v := range SourceKey(src.AccountID, src.ID).AV() {
		item[k] = v
	}
	count, err := expression.NewBuilder().
		WithCondition(identity.AccountStatusIn(identity.StatusActive).
			And(expression.AttributeNotExists(expression.Name(attrSourceCount)).
				Or(expression.Name(attrSourceCount).LessThan(expression.Value(limit))))).
		WithUpdate(expression.Add(expression.Name(attrSourceCount), expression.Value(1))).Build()
	if err != nil {
		return fmt.Errorf("build count expression: %w", err)
	}
	fresh, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(statetable.PK))).Build()
	if err != nil {
		return fmt.Errorf("build source condition: %w", err)
	}
	items := []types.TransactWriteItem{
		{Update: statetable.Update(s.Name, identity.AccountKey(src.AccountID), count)},
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item,
			ConditionExpression: fresh.Condition(), ExpressionAttributeNames: fresh.Names()}},
	}
	if intent != nil {
		items = append(items, intent.clear(s.Name))
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if failed, ok := statetable.CancelledByCondition(err); ok && failed[0] {
		active, aerr := s.accountActive(ctx, src.AccountID)
		if aerr != nil {
			return fmt.Errorf("create source: %w", aerr)
		}
		if !active {
			return ErrAccountNotActive
		}
		return ErrLimitReached
	}
	if err != nil {
		return fmt.Errorf("create source: %w", err)
	}
	return nil
}

// Rename changes what the customer may change of a source: its name and
// prefix. A prefix that differs from the stored one is not what the last
// read check covered, so the same write marks the source unverified
// (StatusUnverified) until its keys are checked again (Verified); giving
// the prefix it already has changes nothing of its verification.
func (s *Store) Rename(ctx context.Context, accountID, sourceID string, name, prefix *string) (*Source, error) {
	now := s.Now().Format(time.RFC3339Nano)
	// A new builder for each write: an UpdateBuilder's Set shares its
	// receiver's operations.
	renamed := func() expression.UpdateBuilder {
		up := expression.Set(expression.Name("updated_at"), expression.Value(now))
		if name != nil {
			up = up.Set(expression.Name("name"), expression.Value(*name))
		}
		return up
	}
	exists := expression.AttributeExists(expression.Name(statetable.PK))
	if prefix == nil {
		return s.updateSource(ctx, accountID, sourceID, exists, renamed())
	}
	// Either the prefix changes, and the verification with it, or it is
	// already the one given; one of the two conditions holds, unless the
	// prefix changes in between, and then the next round decides.
	moved := exists.And(prefixIs(*prefix).Not())
	same := exists.And(prefixIs(*prefix))
	for range 3 {
		src, err := s.updateSource(ctx, accountID, sourceID, moved,
			renamed().Set(expression.Name("prefix"), expression.Value(*prefix)).
				Set(expression.Name("verification.status"), expression.Value(StatusUnverified)))
		if !errors.Is(err, ErrNotFound) {
			return src, err
		}
		src, err = s.updateSource(ctx, accountID, sourceID, same, renamed())
		if !errors.Is(err, ErrNotFound) {
			return src, err
		}
		if _, err := s.Get(ctx, accountID, sourceID); err != nil {
			return nil, err // ErrNotFound when it is gone
		}
	}
	return nil, errors.New("rename source: the prefix kept changing")
}

// prefixIs is the condition that a source's prefix is p. The empty prefix
// may be stored as an empty string or as NULL (attributevalue's encoding of
// a zero string), or be absent from an older item.
func prefixIs(p string) expression.ConditionBuilder {
	name := expression.Name("prefix")
	is := name.Equal(expression.Value(p))
	if p == "" {
		is = is.Or(expression.AttributeNotExists(name)).Or(expression.AttributeType(name, expression.Null))
	}
	return is
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
		TableName: aws.String(s.Name), Key: SourceKey(accountID, sourceID).AV(),
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
		TableName: aws.String(s.Name), Key: SourceKey(accountID, sourceID).AV(),
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if err != nil && !statetable.IsConditionFailed(err) {
		return fmt.Errorf("unlock source credentials: %w", err)
	}
	return nil
}

// Verified records a successful read-access check of the source's location
// under checkedPrefix and the new key's hint, releasing the credentials lock
// the token holds; ErrBusy if the lock was lost meanwhile, ErrNotFound if the
// source was deleted. If the prefix changed since the check (a PATCH in
// between), the key's hint is recorded and the lock released, but the
// source stays unverified: the check was not of its current prefix.
func (s *Store) Verified(ctx context.Context, accountID, sourceID, keyHint, token, checkedPrefix string) (*Source, error) {
	now := s.Now().Format(time.RFC3339Nano)
	locked := expression.Name("credentials_lock").Equal(expression.Value(token))
	// A new builder for each write: an UpdateBuilder's Set shares its
	// receiver's operations.
	recorded := func() expression.UpdateBuilder {
		return expression.Set(expression.Name("updated_at"), expression.Value(now)).
			Set(expression.Name("access_key_id_hint"), expression.Value(keyHint)).
			Remove(expression.Name("credentials_lock")).Remove(expression.Name("credentials_lock_until"))
	}
	src, err := s.updateSource(ctx, accountID, sourceID, locked.And(prefixIs(checkedPrefix)),
		recorded().Set(expression.Name("verification"), expression.Value(map[string]string{"status": StatusVerified, "checked_at": now})))
	if !errors.Is(err, ErrNotFound) {
		return src, err
	}
	// The lock was lost, the source is gone, or its prefix moved.
	src, err = s.updateSource(ctx, accountID, sourceID, locked, recorded())
	if errors.Is(err, ErrNotFound) {
		return nil, s.notFoundOr(ctx, accountID, sourceID, ErrBusy)
	}
	return src, err
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

// updateSource applies an update under a condition and returns the source
// as it then is; ErrNotFound when the condition fails.
func (s *Store) updateSource(ctx context.Context, accountID, sourceID string, cond expression.ConditionBuilder, up expression.UpdateBuilder) (*Source, error) {
	e, err := expression.NewBuilder().WithCondition(cond).WithUpdate(up).Build()
	if err != nil {
		return nil, fmt.Errorf("build source update: %w", err)
	}
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Name), Key: SourceKey(accountID, sourceID).AV(),
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
		WithCondition(expression.Name(attrSourceCount).GreaterThan(expression.Value(0))).
		WithUpdate(expression.Add(expression.Name(attrSourceCount), expression.Value(-1))).Build()
	if err != nil {
		return fmt.Errorf("build count expression: %w", err)
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.Name), Key: SourceKey(accountID, sourceID).AV(),
			ConditionExpression: exists.Condition(), ExpressionAttributeNames: exists.Names()}},
		{Update: statetable.Update(s.Name, identity.AccountKey(accountID), count)},
	}})
	if failed, ok := statetable.CancelledByCondition(err); ok && failed[0] {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete source: %w", err)
	}
	return nil
}
