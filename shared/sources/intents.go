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

	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Intent is the write-ahead record of a secret about to be created (or
// deleted) for a source. It is written before the secret, and cleared in the
// same transaction that makes the source item agree with the secret; if the
// process dies in between, the intent outlives its grace period and the
// housekeeping pass removes the orphaned secret (Reconcile).
type Intent struct {
	CreatedMillis int64  `dynamodbav:"created_ms"`
	AccountID     string `dynamodbav:"account_id"`
	SourceID      string `dynamodbav:"source_id"`
	SecretName    string `dynamodbav:"secret_name"`
}

// intentTTL is a last resort: an intent is normally gone in milliseconds,
// and Reconcile handles it within a quarter of an hour.
const intentTTL = 7 * 24 * time.Hour

func (i *Intent) key() statetable.Key { return IntentKey(i.CreatedMillis, i.SourceID) }

func (i *Intent) clear(table string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(table), Key: i.key().AV()}}
}

// WriteIntent records that a secret is about to be created for a source of
// the account, and returns the intent only if the account is still active
// once it is written: otherwise (its deletion accepted) it takes the intent
// back and fails with ErrAccountNotActive, so no secret is started that the
// deletion job would not see.
//
// The account is read (strongly consistently) after the intent is put, not
// checked in a transaction: an intent that stays was written before the
// account's read, hence before any deletion accepted later, whose job then
// finds it; and a single-item write keeps concurrent registrations from
// conflicting on the account item (their Create transactions update it).
func (s *Store) WriteIntent(ctx context.Context, accountID, sourceID, secretName string) (*Intent, error) {
	in, err := s.writeIntent(ctx, accountID, sourceID, secretName)
	if err != nil {
		return nil, err
	}
	active, err := s.accountActive(ctx, accountID)
	if err == nil && !active {
		err = ErrAccountNotActive
	}
	if err != nil {
		// Taken back at once; if this fails, the intent names a secret
		// never created, which Reconcile (or the deletion job) clears.
		return nil, errors.Join(err, s.ClearIntent(context.WithoutCancel(ctx), in))
	}
	return in, nil
}

// writeIntent records that a secret for the source is about to change: to
// be created (WriteIntent), or deleted (Remove: with no check of the
// account, for the deletion job itself removes the sources of an account
// being deleted, and a removal only ever deletes).
func (s *Store) writeIntent(ctx context.Context, accountID, sourceID, secretName string) (*Intent, error) {
	in := &Intent{CreatedMillis: s.Now().UnixMilli(), AccountID: accountID, SourceID: sourceID, SecretName: secretName}
	item, err := attributevalue.MarshalMap(in)
	if err != nil {
		return nil, fmt.Errorf("encode intent: %w", err)
	}
	for k, v := range in.key().AV() {
		item[k] = v
	}
	item[statetable.ExpiresAt] = statetable.Epoch(s.Now().Add(intentTTL))
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Name), Item: item}); err != nil {
		return nil, fmt.Errorf("put intent: %w", err)
	}
	return in, nil
}

// ClearIntent removes an intent once the secret and the item agree.
func (s *Store) ClearIntent(ctx context.Context, in *Intent) error {
	if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Name), Key: in.key().AV()}); err != nil {
		return fmt.Errorf("clear intent: %w", err)
	}
	return nil
}

// StaleIntents returns the intents written before the cutoff, oldest first,
// at most limit of them.
func (s *Store) StaleIntents(ctx context.Context, cutoff time.Time, limit int) ([]*Intent, error) {
	key, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(statetable.PK).Equal(expression.Value(IntentPartition)).
			And(expression.Key(statetable.SK).LessThan(expression.Value(fmt.Sprintf("%013d", cutoff.UnixMilli()))))).Build()
	if err != nil {
		return nil, fmt.Errorf("build intent query: %w", err)
	}
	out, err := s.DB.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.Name), ConsistentRead: aws.Bool(true), Limit: aws.Int32(int32(min(limit, 1000))), // #nosec G115 -- bounded by min
		KeyConditionExpression: key.KeyCondition(), ExpressionAttributeNames: key.Names(), ExpressionAttributeValues: key.Values(),
	})
	if err != nil {
		return nil, fmt.Errorf("query intents: %w", err)
	}
	var intents []*Intent
	for _, item := range out.Items {
		var in Intent
		if err := attributevalue.UnmarshalMap(item, &in); err != nil {
			return nil, fmt.Errorf("decode intent: %w", err)
		}
		intents = append(intents, &in)
	}
	return intents, nil
}
