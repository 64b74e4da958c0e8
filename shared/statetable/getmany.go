package statetable

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Read is one item of a GetMany: its owner builds it (the key and what to
// decode into) and reads the answer from it (Found, Into) once GetMany
// returns. So owners' items are read together without any owner's key
// strings leaving its package.
type Read struct {
	Key  Key
	Into any // an attributevalue.UnmarshalMap target
	// Found reports the item was there and unexpired (GetMany sets it).
	Found bool
}

// maxBatchRounds bounds GetMany's retries of keys DynamoDB left unprocessed.
const maxBatchRounds = 5

// GetMany reads items of the table in one strongly consistent BatchGetItem
// (at most 100, on distinct keys), as Get reads one: an absent or expired
// item is not Found. Keys DynamoDB leaves unprocessed (throttling) are
// asked again after a short pause, which the context's end cuts short.
func GetMany(ctx context.Context, db DynamoDB, table string, now time.Time, reads ...*Read) error {
	byKey := make(map[Key]*Read, len(reads))
	keys := make([]map[string]types.AttributeValue, 0, len(reads))
	for _, r := range reads {
		byKey[r.Key] = r
		keys = append(keys, r.Key.AV())
	}
	for round := 0; len(keys) > 0; round++ {
		if round == maxBatchRounds {
			return fmt.Errorf("batch get: keys still unprocessed after %d rounds", round)
		}
		if round > 0 {
			if err := pause(ctx, time.Duration(round)*20*time.Millisecond); err != nil {
				return fmt.Errorf("batch get: %w", err)
			}
		}
		out, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			table: {Keys: keys, ConsistentRead: aws.Bool(true)},
		}})
		if err != nil {
			return fmt.Errorf("batch get: %w", err)
		}
		for _, it := range out.Responses[table] {
			pk, _ := it[PK].(*types.AttributeValueMemberS)
			sk, _ := it[SK].(*types.AttributeValueMemberS)
			if pk == nil || sk == nil {
				continue
			}
			r := byKey[Key{PK: pk.Value, SK: sk.Value}]
			if r == nil || Expired(it, now) {
				continue
			}
			if err := attributevalue.UnmarshalMap(it, r.Into); err != nil {
				return fmt.Errorf("decode item: %w", err)
			}
			r.Found = true
		}
		keys = out.UnprocessedKeys[table].Keys
	}
	return nil
}

// pause waits d, or less if ctx ends first (its error).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
