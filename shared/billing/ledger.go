package billing

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

	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// EventRetention is how long the record of a processed event is kept: well
// beyond the three days over which Stripe retries a delivery. A redelivery
// after that only re-syncs the customer, which changes nothing.
const EventRetention = 30 * 24 * time.Hour

// LeaseDuration is how long a delivery holds an event while applying it. A
// delivery that crashed gives the event up when its lease lapses, so
// Stripe's next retry does the work.
const LeaseDuration = time.Minute

// Event record states.
const (
	eventProcessing = "processing"
	eventDone       = "done"
)

type eventRecord struct {
	State        string `dynamodbav:"state"`
	Type         string `dynamodbav:"event_type"`
	LeaseToken   string `dynamodbav:"lease_token,omitempty"`
	LeaseUntilMs int64  `dynamodbav:"lease_until_ms,omitempty"`
	ExpiresAt    int64  `dynamodbav:"expires_at"`
}

// Ledger records which Stripe events have been applied, so that each is
// applied once however often, and however concurrently, it is delivered.
type Ledger struct {
	statetable.Table
}

// NewLedger returns a Ledger over the state table. now may be nil (time.Now).
func NewLedger(db statetable.DynamoDB, table string, now func() time.Time) *Ledger {
	return &Ledger{statetable.NewTable(db, table, now)}
}

// Lease is one delivery's hold on an event.
type Lease struct {
	EventID string
	token   string
}

// Errors of Begin.
var (
	ErrEventDone       = errors.New("event already applied")
	ErrEventInProgress = errors.New("event being applied by another delivery")
)

// Begin takes the event for this delivery: a conditional write that succeeds
// when the event was never seen, or when an earlier delivery's lease lapsed
// without finishing. It fails with ErrEventDone or ErrEventInProgress.
func (l *Ledger) Begin(ctx context.Context, eventID, eventType string) (*Lease, error) {
	now := l.Now()
	lease := &Lease{EventID: eventID, token: ids.Secret()}
	item, err := attributevalue.MarshalMap(eventRecord{State: eventProcessing, Type: eventType, LeaseToken: lease.token,
		LeaseUntilMs: now.Add(LeaseDuration).UnixMilli(), ExpiresAt: now.Add(EventRetention).Unix()})
	if err != nil {
		return nil, fmt.Errorf("encode event record: %w", err)
	}
	for k, v := range statetable.StripeEventKey(eventID).AV() {
		item[k] = v
	}
	cond, err := expression.NewBuilder().WithCondition(
		expression.AttributeNotExists(expression.Name(statetable.PK)).
			Or(expression.Name(statetable.ExpiresAt).LessThanEqual(expression.Value(now.Unix()))).
			Or(expression.Name("state").Equal(expression.Value(eventProcessing)).
				And(expression.Name("lease_until_ms").LessThan(expression.Value(now.UnixMilli()))))).Build()
	if err != nil {
		return nil, fmt.Errorf("build event condition: %w", err)
	}
	_, err = l.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(l.Name), Item: item,
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values()})
	if statetable.IsConditionFailed(err) {
		var rec eventRecord
		found, gerr := l.Get(ctx, statetable.StripeEventKey(eventID), &rec)
		if gerr != nil {
			return nil, gerr
		}
		if found && rec.State == eventDone {
			return nil, ErrEventDone
		}
		return nil, ErrEventInProgress
	}
	if err != nil {
		return nil, fmt.Errorf("begin event: %w", err)
	}
	return lease, nil
}

// Done records the event as applied. It is called only once the effect is
// written; a failure here leaves the lease to lapse and a retry re-applies
// the (idempotent) sync.
func (l *Ledger) Done(ctx context.Context, lease *Lease) error {
	e, err := expression.NewBuilder().
		WithCondition(expression.Name("lease_token").Equal(expression.Value(lease.token))).
		WithUpdate(expression.Set(expression.Name("state"), expression.Value(eventDone)).
			Set(expression.Name(statetable.ExpiresAt), expression.Value(l.Now().Add(EventRetention).Unix())).
			Remove(expression.Name("lease_token")).Remove(expression.Name("lease_until_ms"))).Build()
	if err != nil {
		return fmt.Errorf("build event done: %w", err)
	}
	_, err = l.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(l.Name), Key: statetable.StripeEventKey(lease.EventID).AV(),
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if err != nil {
		return fmt.Errorf("mark event done: %w", err)
	}
	return nil
}

// Abandon gives the event up after a failure, so that Stripe's retry can
// take it at once rather than after the lease lapses.
func (l *Ledger) Abandon(ctx context.Context, lease *Lease) error {
	_, err := l.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(l.Name), Key: statetable.StripeEventKey(lease.EventID).AV(),
		ConditionExpression:       aws.String("lease_token = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: lease.token}},
	})
	if err != nil && !statetable.IsConditionFailed(err) {
		return fmt.Errorf("abandon event: %w", err)
	}
	return nil
}
