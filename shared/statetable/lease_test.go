package statetable_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

type leasedItem struct {
	Work       string `dynamodbav:"work"`
	LeaseToken string `dynamodbav:"lease_token"`
	LeaseUntil int64  `dynamodbav:"lease_until_ms"`
}

// TestLease: one holder at a time; a lease lapses at its expiry; only the
// holder writes under it or releases it.
func TestLease(t *testing.T) {
	st := testenv.NewStack(t)
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	table := statetable.NewTable(stack.DynamoDBClient(st.DynamoDBEndpoint), st.Tables["StateTable"], clock.Now)
	ctx := context.Background()
	k := statetable.Key{PK: "LEASETEST#" + t.Name(), SK: "LEASETEST"}
	take := func() (*statetable.Lease, error) {
		return table.TakeLease(ctx, k, time.Minute, expression.ConditionBuilder{},
			expression.Set(expression.Name("work"), expression.Value("started")))
	}
	write := func(l *statetable.Lease, work string) bool {
		t.Helper()
		ok, err := table.UnderLease(ctx, l, expression.Set(expression.Name("work"), expression.Value(work)))
		if err != nil {
			t.Fatalf("write under lease: %v", err)
		}
		return ok
	}
	read := func() leasedItem {
		t.Helper()
		var it leasedItem
		if found, err := table.Get(ctx, k, &it); err != nil || !found {
			t.Fatalf("read item: found %v, %v", found, err)
		}
		return it
	}

	first, err := take()
	if err != nil {
		t.Fatalf("take an absent item: %v", err)
	}
	if it := read(); it.Work != "started" || it.LeaseToken == "" || it.LeaseUntil != clock.Now().Add(time.Minute).UnixMilli() {
		t.Fatalf("taken item: %+v", it)
	}
	if _, err := take(); !errors.Is(err, statetable.ErrLeaseRefused) {
		t.Fatalf("second taker while held: %v, want ErrLeaseRefused", err)
	}
	if !write(first, "one") {
		t.Fatal("the holder could not write under its lease")
	}

	clock.Advance(time.Minute + time.Millisecond)
	second, err := take()
	if err != nil {
		t.Fatalf("take after the lease lapsed: %v", err)
	}
	if write(first, "stale") {
		t.Error("the lapsed holder wrote under a lease taken since")
	}
	if ok, err := table.ReleaseLease(ctx, first); err != nil || ok {
		t.Errorf("release by another holder: %v, %v; want refused", ok, err)
	}
	if it := read(); it.Work != "started" || it.LeaseToken == "" {
		t.Fatalf("item after the refused writes: %+v", it)
	}
	if _, err := take(); !errors.Is(err, statetable.ErrLeaseRefused) {
		t.Fatalf("taken while the second lease holds: %v", err)
	}

	if ok, err := table.ReleaseLease(ctx, second); err != nil || !ok {
		t.Fatalf("release by the holder: %v, %v", ok, err)
	}
	if it := read(); it.LeaseToken != "" || it.LeaseUntil != 0 {
		t.Fatalf("released item keeps its lease: %+v", it)
	}
	if _, err := take(); err != nil {
		t.Fatalf("take after release: %v", err)
	}
}

// TestLeaseCondition: a lease is refused, with nothing written, when the
// taker's own condition does not hold, however free the item.
func TestLeaseCondition(t *testing.T) {
	st := testenv.NewStack(t)
	table := statetable.NewTable(stack.DynamoDBClient(st.DynamoDBEndpoint), st.Tables["StateTable"], nil)
	ctx := context.Background()
	k := statetable.Key{PK: "LEASETEST#" + t.Name(), SK: "LEASETEST"}
	_, err := table.TakeLease(ctx, k, time.Minute, expression.AttributeExists(expression.Name(statetable.PK)),
		expression.Set(expression.Name("work"), expression.Value("started")))
	if !errors.Is(err, statetable.ErrLeaseRefused) {
		t.Fatalf("take against the condition: %v, want ErrLeaseRefused", err)
	}
	var it leasedItem
	if found, err := table.Get(ctx, k, &it); err != nil || found {
		t.Fatalf("refused lease wrote the item: found %v, %v", found, err)
	}
}
