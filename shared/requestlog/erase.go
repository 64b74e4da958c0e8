package requestlog

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// EraseDB is the part of DynamoDB that erasing an account's items uses.
type EraseDB interface {
	Querier
	batchWriter
}

// EraseAccount deletes every request-log item of the account, expired or
// not (account deletion, P7), 25 at a time; onBatch is told how many each
// batch deleted, for the deletion's receipt.
func EraseAccount(ctx context.Context, db EraseDB, table, accountID string, onBatch func(n int) error) error {
	p := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: partition(accountID, time.Time{})}},
		ProjectionExpression: aws.String("pk, sk"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query the account's request logs: %w", err)
		}
		for batch := range slices.Chunk(page.Items, 25) {
			deleted, left := deleteKeys(ctx, db, table, batch, time.Sleep, func() bool { return ctx.Err() != nil })
			if err := onBatch(deleted); err != nil {
				return err
			}
			if len(left) > 0 {
				return fmt.Errorf("%d request-log items not deleted after retries", len(left))
			}
		}
	}
	return nil
}

// eraseRequestLogs is the deletion step that erases an account's request logs.
const eraseRequestLogs = "request_logs"

// Eraser is this package's part of an account's deletion: every request-log
// item of the account (EraseAccount).
func Eraser(db EraseDB, table string) lifecycle.Eraser {
	return lifecycle.Eraser{Step: eraseRequestLogs, Owner: lifecycleOwner,
		Erase: func(ctx context.Context, sub lifecycle.Subject, count lifecycle.Count) error {
			return EraseAccount(ctx, db, table, sub.AccountID, func(n int) error { return count("request_logs", n) })
		}}
}
