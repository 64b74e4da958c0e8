package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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

// eventRecord is what Begin reads back of an event's record; the record
// also holds event_type, expires_at and, while processed, the lease.
type eventRecord struct {
	State string `dynamodbav:"state"`
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
	lease   *statetable.Lease
}

// Errors of Begin.
var (
	ErrEventDone       = errors.New("event already applied")
	ErrEventInProgress = errors.New("event being applied by another delivery")
)

// Begin takes the event for this delivery: a lease (statetable.TakeLease)
// taken when the event was never seen, or when an earlier delivery's lease
// lapsed without finishing. It fails with ErrEventDone or ErrEventInProgress.
func (l *Ledger) Begin(ctx context.Context, eventID, eventType string) (*Lease, error) {
	now := l.Now()
	k := StripeEventKey(eventID)
	// A record past its retention counts as absent (TTL deletes late); a
	// done record keeps the event; one being processed is taken once its
	// lease lapses.
	cond := expression.AttributeNotExists(expression.Name(statetable.PK)).
		Or(expression.Name(statetable.ExpiresAt).LessThanEqual(expression.Value(now.Unix()))).
		Or(expression.Name("state").Equal(expression.Value(eventProcessing)))
	set := expression.Set(expression.Name("state"), expression.Value(eventProcessing)).
		Set(expression.Name("event_type"), expression.Value(eventType)).
		Set(expression.Name(statetable.ExpiresAt), expression.Value(now.Add(EventRetention).Unix()))
	lease, err := l.TakeLease(ctx, k, LeaseDuration, cond, set)
	if errors.Is(err, statetable.ErrLeaseRefused) {
		var rec eventRecord
		found, gerr := l.Get(ctx, k, &rec)
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
	return &Lease{EventID: eventID, lease: lease}, nil
}

// Done records the event as applied. It is called only once the effect is
// written; a failure here leaves the lease to lapse and a retry re-applies
// the (idempotent) sync.
func (l *Ledger) Done(ctx context.Context, lease *Lease) error {
	e, err := expression.NewBuilder().WithCondition(lease.lease.Held()).
		WithUpdate(lease.lease.Released(expression.Set(expression.Name("state"), expression.Value(eventDone)).
			Set(expression.Name(statetable.ExpiresAt), expression.Value(l.Now().Add(EventRetention).Unix())))).Build()
	if err != nil {
		return fmt.Errorf("build event done: %w", err)
	}
	_, err = l.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(l.Name), Key: StripeEventKey(lease.EventID).AV(),
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if err != nil {
		return fmt.Errorf("mark event done: %w", err)
	}
	return nil
}

// Abandon gives the event up after a failure, so that Stripe's retry can
// take it at once rather than after the lease lapses: it deletes the record
// while the lease holds.
func (l *Ledger) Abandon(ctx context.Context, lease *Lease) error {
	e, err := expression.NewBuilder().WithCondition(lease.lease.Held()).Build()
	if err != nil {
		return fmt.Errorf("build event abandon: %w", err)
	}
	_, err = l.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(l.Name), Key: StripeEventKey(lease.EventID).AV(),
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if err != nil && !statetable.IsConditionFailed(err) {
		return fmt.Errorf("abandon event: %w", err)
	}
	return nil
}
