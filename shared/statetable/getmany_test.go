package statetable_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/shared/statetable"
)

// unprocessedDB leaves every key of a BatchGetItem unprocessed (as when
// throttled), and runs after() after each call.
type unprocessedDB struct {
	statetable.DynamoDB
	calls int
	after func()
}

func (u *unprocessedDB) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	u.calls++
	u.after()
	return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems}, nil
}

// TestGetManyStopsWaitingWhenItsContextEnds: the pause before asking again
// for unprocessed keys ends with the request's context, which GetMany
// reports, instead of sleeping on and asking again.
func TestGetManyStopsWaitingWhenItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := &unprocessedDB{after: cancel}
	var into map[string]any
	start := time.Now()
	err := statetable.GetMany(ctx, db, "table", time.Now(), &statetable.Read{Key: statetable.Key{PK: "P", SK: "S"}, Into: &into})
	if !errors.Is(err, context.Canceled) || db.calls != 1 {
		t.Fatalf("GetMany after its context ended: %v, %d calls; want context.Canceled after 1 call (in %s)", err, db.calls, time.Since(start))
	}
}
