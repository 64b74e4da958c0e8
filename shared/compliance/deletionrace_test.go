package compliance_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// TestRecordsOnlyForActiveAccounts: an NDA acceptance or a compliance
// request that races the account's deletion (accepted, or finished) records
// nothing, so no record lands in the partition after the deletion job swept
// it.
func TestRecordsOnlyForActiveAccounts(t *testing.T) {
	s, clock, accounts := newStore(t)
	ctx := t.Context()
	accept := func(ctx context.Context, id string) error {
		_, _, err := s.AcceptNDA(ctx, compliance.NDAAcceptance{AccountID: id, Version: "2026-01", AcceptedAt: clock.Now(),
			SignatoryName: "Grace", SignatoryTitle: "CISO"})
		return err
	}
	request := func(ctx context.Context, id string) error {
		return s.AddRequest(ctx, &compliance.Request{ID: ids.New("creq"), AccountID: id, Type: compliance.TypePentestReport,
			Status: compliance.StatusReceived, CreatedAt: clock.Now()})
	}
	deleting := func(t *testing.T) string {
		id := activeAccount(t, accounts, clock)
		acct, err := accounts.Account(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, created, err := deletion.NewStore(s.DB, s.Name, clock.Now).Accept(ctx, acct); err != nil || !created {
			t.Fatalf("accept deletion: %v %v", created, err)
		}
		return id
	}
	for _, write := range []struct {
		name string
		do   func(context.Context, string) error
	}{{"NDA acceptance", accept}, {"compliance request", request}} {
		for _, tc := range []struct {
			name    string
			account func(t *testing.T) string
			want    error
		}{
			{"active", func(t *testing.T) string { return activeAccount(t, accounts, clock) }, nil},
			{"deletion accepted", deleting, compliance.ErrAccountNotActive},
			{"deletion finished", func(t *testing.T) string {
				id := deleting(t)
				if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Name),
					Key: identity.AccountKey(id).AV()}); err != nil {
					t.Fatal(err)
				}
				return id
			}, compliance.ErrAccountNotActive},
			{"never existed", func(*testing.T) string { return ids.New("acct") }, compliance.ErrAccountNotActive},
		} {
			t.Run(write.name+"/"+tc.name, func(t *testing.T) {
				id := tc.account(t)
				clock.Advance(time.Second)
				if err := write.do(ctx, id); !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				want := 0
				if tc.want == nil {
					want = 1
				}
				n := 0
				for _, prefix := range []string{compliance.NDAPrefix, compliance.RequestPrefix} {
					if err := statetable.EachInPartition(ctx, s.DB, s.Name, identity.AccountPartition(id), prefix, nil,
						func(map[string]types.AttributeValue) error { n++; return nil }); err != nil {
						t.Fatal(err)
					}
				}
				if n != want {
					t.Fatalf("%d records stored, want %d", n, want)
				}
			})
		}
	}
	// A second acceptance of an active account's NDA is still "already
	// accepted", not a refusal.
	id := activeAccount(t, accounts, clock)
	if err := accept(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, created, err := s.AcceptNDA(ctx, compliance.NDAAcceptance{AccountID: id, Version: "2026-01", AcceptedAt: clock.Now()}); err != nil || created {
		t.Fatalf("again: %v %v", created, err)
	}
}
