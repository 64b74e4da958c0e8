package sources

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Writes that race an account's deletion. Once a deletion is accepted the
// account item is "deleting" and the deletion job removes the account's
// sources and secrets. Nothing may be added that the job would miss: a new
// source item is conditional on the account being active (Create, in its
// transaction), and no secret is created unless the account was still
// active after its intent was written (WriteIntent). Writes that only change
// or delete an existing source need no such check: they are conditional on
// the source item existing, so they never create one, and the job deletes
// what they changed (a new key put into a secret the job has deleted fails:
// PutSecretValue never creates a secret). The internal credentials function
// reads with GetActive, so no key leaves once the deletion is accepted.

// ErrAccountNotActive reports an account that is gone, not verified, or
// being deleted: nothing was written.
var ErrAccountNotActive = errors.New("account not active")

// accountActive reads whether the account exists and is active, to tell a
// failed condition apart.
func (s *Store) accountActive(ctx context.Context, accountID string) (bool, error) {
	var a identity.Account // identity's view of the item, for its status
	found, err := s.Table.Get(ctx, identity.AccountKey(accountID), &a)
	if err != nil {
		return false, fmt.Errorf("read account: %w", err)
	}
	return found && a.Status == identity.StatusActive, nil
}

// batchGetAttempts bounds the rounds of BatchGetItem spent on keys that
// DynamoDB left unprocessed (throttling).
const batchGetAttempts = 5

// GetActive returns one of the account's sources as Get does, but only while
// the account is active: the source and the account item are read in one
// strongly consistent round trip, so the moment an account's deletion is
// accepted its sources are ErrAccountNotActive, before the deletion job has
// removed them. It is what the internal credentials function reads.
func (s *Store) GetActive(ctx context.Context, accountID, sourceID string) (*Source, error) {
	srcKey, acctKey := SourceKey(accountID, sourceID), identity.AccountKey(accountID)
	var srcItem, acctItem map[string]types.AttributeValue
	keys := []map[string]types.AttributeValue{srcKey.AV(), acctKey.AV()}
	for attempt := 1; len(keys) > 0; attempt++ {
		if attempt > batchGetAttempts {
			return nil, fmt.Errorf("read source and account: keys unprocessed after %d attempts", batchGetAttempts)
		}
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("read source and account: %w", ctx.Err())
			case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
			}
		}
		out, err := s.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			s.Name: {Keys: keys, ConsistentRead: aws.Bool(true)},
		}})
		if err != nil {
			return nil, fmt.Errorf("read source and account: %w", err)
		}
		for _, it := range out.Responses[s.Name] {
			if sk, _ := it[statetable.SK].(*types.AttributeValueMemberS); sk != nil && sk.Value == acctKey.SK {
				acctItem = it
			} else {
				srcItem = it
			}
		}
		keys = out.UnprocessedKeys[s.Name].Keys
	}
	now := s.Now()
	var acct identity.Account // identity's view of the item, for its status
	if acctItem == nil || statetable.Expired(acctItem, now) {
		return nil, ErrAccountNotActive
	}
	if err := attributevalue.UnmarshalMap(acctItem, &acct); err != nil {
		return nil, fmt.Errorf("decode account: %w", err)
	}
	if acct.Status != identity.StatusActive {
		return nil, ErrAccountNotActive
	}
	if srcItem == nil || statetable.Expired(srcItem, now) {
		return nil, ErrNotFound
	}
	var src Source
	if err := attributevalue.UnmarshalMap(srcItem, &src); err != nil {
		return nil, fmt.Errorf("decode source: %w", err)
	}
	return &src, nil
}
