package statetable

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BatchSize is the most requests one BatchWriteItem call carries.
const BatchSize = 25

// batchAttempts bounds the calls spent on one batch whose items DynamoDB
// leaves unprocessed (throttling).
const batchAttempts = 6

// DeleteKeys deletes the items by key, 25 to a BatchWriteItem call, one
// call after another, retrying what DynamoDB leaves unprocessed with a
// growing pause; it returns how many it deleted (a key of no item counts:
// BatchWriteItem does not say). Deleting an item already gone is not an
// error, so it can run again after a failure.
func DeleteKeys(ctx context.Context, db DynamoDB, table string, keys []Key) (int, error) {
	deleted := 0
	for batch := range slices.Chunk(keys, BatchSize) {
		if err := deleteBatch(ctx, db, table, batch); err != nil {
			return deleted, err
		}
		deleted += len(batch)
	}
	return deleted, nil
}

func deleteBatch(ctx context.Context, db DynamoDB, table string, keys []Key) error {
	pending := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		pending[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k.AV()}}
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > batchAttempts {
			return fmt.Errorf("delete items: %d left unprocessed after %d attempts", len(pending), batchAttempts)
		}
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("delete items: %w", ctx.Err())
			case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
			}
		}
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: pending}})
		if err != nil {
			return fmt.Errorf("delete items: %w", err)
		}
		pending = out.UnprocessedItems[table]
	}
	return nil
}
