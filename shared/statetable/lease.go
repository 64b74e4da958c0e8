package statetable

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/atrium-cdn/atrium/shared/ids"
)

// Attributes of a lease on an item: the holder's token, and the time (epoch
// milliseconds) at which the lease lapses.
const (
	LeaseToken   = "lease_token"
	LeaseUntilMs = "lease_until_ms"
)

// ErrLeaseRefused reports that TakeLease did not take the item: another
// holder's lease has not lapsed, or the caller's own condition did not hold.
var ErrLeaseRefused = errors.New("lease refused")

// Lease is one holder's hold on an item of the state table, so that work
// on the item (a Stripe event being applied, a deletion job being run) is
// done by one holder at a time. A holder that crashed gives the item up
// when its lease lapses; writes under the lease add Held to their
// condition, so a holder whose lease lapsed and was taken writes nothing.
type Lease struct {
	Key      Key
	token    string
	duration time.Duration
}

// TakeLease takes the item at k for d: one conditional update that records
// a new holder's token and the lease's expiry when the item has no lease or
// its lease has lapsed, and cond holds too (unless cond is unset). The same
// update applies set (which may be unset); an absent item is created.
// Refused, it changes nothing and returns ErrLeaseRefused.
func (t Table) TakeLease(ctx context.Context, k Key, d time.Duration, cond expression.ConditionBuilder, set expression.UpdateBuilder) (*Lease, error) {
	now := t.Now()
	l := &Lease{Key: k, token: ids.Secret(), duration: d}
	free := expression.AttributeNotExists(expression.Name(LeaseUntilMs)).
		Or(expression.Name(LeaseUntilMs).LessThan(expression.Value(now.UnixMilli())))
	if cond.IsSet() {
		free = cond.And(free)
	}
	e, err := expression.NewBuilder().WithCondition(free).
		WithUpdate(set.Set(expression.Name(LeaseToken), expression.Value(l.token)).
			Set(expression.Name(LeaseUntilMs), expression.Value(now.Add(d).UnixMilli()))).Build()
	if err != nil {
		return nil, fmt.Errorf("build lease: %w", err)
	}
	ok, err := ConditionalUpdate(ctx, t.DB, t.Name, k, e)
	if err != nil {
		return nil, fmt.Errorf("take lease: %w", err)
	}
	if !ok {
		return nil, ErrLeaseRefused
	}
	return l, nil
}

// Held is the condition of a write under the lease: the item still carries
// this holder's token (no one took it since).
func (l *Lease) Held() expression.ConditionBuilder {
	return expression.Name(LeaseToken).Equal(expression.Value(l.token))
}

// Renewed adds to up the extension of the lease: it then lapses its
// duration after now. Write it under Held.
func (l *Lease) Renewed(up expression.UpdateBuilder, now time.Time) expression.UpdateBuilder {
	return up.Set(expression.Name(LeaseUntilMs), expression.Value(now.Add(l.duration).UnixMilli()))
}

// Released adds to up the removal of the lease's attributes, which ends the
// lease. Write it under Held.
func (l *Lease) Released(up expression.UpdateBuilder) expression.UpdateBuilder {
	return up.Remove(expression.Name(LeaseToken)).Remove(expression.Name(LeaseUntilMs))
}

// UnderLease applies up to the leased item only while the lease holds. It
// reports false, having changed nothing, when it no longer does.
func (t Table) UnderLease(ctx context.Context, l *Lease, up expression.UpdateBuilder) (bool, error) {
	e, err := expression.NewBuilder().WithCondition(l.Held()).WithUpdate(up).Build()
	if err != nil {
		return false, fmt.Errorf("build write under lease: %w", err)
	}
	return ConditionalUpdate(ctx, t.DB, t.Name, l.Key, e)
}

// ReleaseLease gives the lease up, so that the next holder may take the
// item at once rather than when the lease lapses. It reports false, having
// changed nothing, when the lease no longer held.
func (t Table) ReleaseLease(ctx context.Context, l *Lease) (bool, error) {
	return t.UnderLease(ctx, l, l.Released(expression.UpdateBuilder{}))
}
