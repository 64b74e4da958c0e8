package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Writes that race an account's deletion: each must refuse, or change
// nothing, once the deletion is accepted or finished, so that nothing is
// written back after the deletion job has swept it.

// raceFixture is an identity store over fresh tables in DynamoDB Local, on
// a settable clock, whose client can run a step just before a write.
type raceFixture struct {
	client *dynamodb.Client
	db     *beforeUpdate
	table  string
	clock  *testenv.Clock
	store  *identity.Store
}

func newRaceFixture(t *testing.T) *raceFixture {
	t.Helper()
	st := testenv.NewStack(t)
	f := &raceFixture{client: stack.DynamoDBClient(st.DynamoDBEndpoint), table: st.Tables["StateTable"],
		clock: testenv.NewClock(time.Now().UTC())}
	f.db = &beforeUpdate{DynamoDB: f.client}
	f.store = identity.NewStore(f.db, f.table, f.clock.Now)
	return f
}

// beforeUpdate runs hook (once) just before the next UpdateItem: what a
// concurrent deletion step would do between a read and the write after it.
type beforeUpdate struct {
	statetable.DynamoDB
	hook func(context.Context)
}

func (b *beforeUpdate) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if h := b.hook; h != nil {
		b.hook = nil
		h(ctx)
	}
	return b.DynamoDB.UpdateItem(ctx, in, opts...)
}

// item reads an item raw (nil when absent, expired or not).
func (f *raceFixture) item(t *testing.T, k statetable.Key) map[string]types.AttributeValue {
	t.Helper()
	out, err := f.client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: k.AV(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func (f *raceFixture) deleteItem(ctx context.Context, t *testing.T, k statetable.Key) {
	t.Helper()
	if _, err := f.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(f.table), Key: k.AV()}); err != nil {
		t.Error(err)
	}
}

// sessionItems counts the session items in the account's partition.
func (f *raceFixture) sessionItems(t *testing.T, accountID string) int {
	t.Helper()
	n := 0
	err := statetable.EachInPartition(t.Context(), f.client, f.table, identity.AccountPartition(accountID), identity.SessionPrefix,
		nil, func(map[string]types.AttributeValue) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// acceptDeletion marks the account deleting as DELETE /v1/account does.
func (f *raceFixture) acceptDeletion(t *testing.T, accountID string) *identity.Account {
	t.Helper()
	acct, err := f.store.Account(t.Context(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := deletion.NewStore(f.client, f.table, f.clock.Now).Accept(t.Context(), acct); err != nil || !created {
		t.Fatalf("accept deletion: %v %v", created, err)
	}
	return acct
}

var racePolicy = identity.SessionPolicy{IdleTimeout: time.Hour, MaxLifetime: 12 * time.Hour}

// accountIn makes an account in one of the states a write can race: active,
// pending, its deletion accepted, its deletion finished, never existed, or no
// account at all (a decoy's empty id). It returns the account's id.
func (f *raceFixture) accountIn(t *testing.T, state string) string {
	t.Helper()
	ctx := t.Context()
	switch state {
	case "active":
		return testenv.ActiveAccount(t, f.store, f.clock.Now())
	case "pending":
		a := &identity.Account{ID: ids.New("acct"), Email: testenv.Email(t), Status: identity.StatusPending,
			CreatedAt: f.clock.Now()}
		if err := f.store.CreatePending(ctx, a, f.clock.Now().Add(time.Hour), plans.Initial()); err != nil {
			t.Fatal(err)
		}
		return a.ID
	case "deletion accepted", "deletion finished":
		id := testenv.ActiveAccount(t, f.store, f.clock.Now())
		f.acceptDeletion(t, id)
		if state == "deletion finished" {
			f.deleteItem(ctx, t, identity.AccountKey(id))
		}
		return id
	case "never existed":
		return ids.New("acct")
	case "decoy":
		return ""
	}
	t.Fatalf("no account state %q", state)
	return ""
}

func TestCreateSessionOnlyForActiveAccounts(t *testing.T) {
	f := newRaceFixture(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		want error
	}{
		{"active", nil}, {"deletion accepted", identity.ErrNotFound}, {"deletion finished", identity.ErrNotFound},
		{"pending", identity.ErrNotFound}, {"never existed", identity.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := f.accountIn(t, tc.name)
			sess, tok, err := f.store.CreateSession(ctx, id, racePolicy)
			if !errors.Is(err, tc.want) {
				t.Fatalf("CreateSession: %v, want %v", err, tc.want)
			}
			wantItems := 0
			if tc.want == nil {
				wantItems = 1
				if sess == nil || tok == "" {
					t.Fatal("no session returned")
				}
				if got, err := f.store.Authenticate(ctx, tok, racePolicy); err != nil || got.ID != sess.ID {
					t.Fatalf("the new session does not authenticate: %v", err)
				}
			}
			if n := f.sessionItems(t, id); n != wantItems {
				t.Fatalf("%d session items stored, want %d", n, wantItems)
			}
		})
	}
}

// setNotice asks for a sign-in notice on the address's claim, as a password
// reset that ends a lockout does.
func (f *raceFixture) setNotice(t *testing.T, email string) {
	t.Helper()
	if _, err := f.client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{TableName: aws.String(f.table),
		Key:                       identity.EmailClaimKey(email).AV(),
		UpdateExpression:          aws.String("SET notify_next_login = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestClearLoginNoticeNeverRecreatesTheClaim(t *testing.T) {
	f := newRaceFixture(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		// race runs after the login read the claim, before the notice is cleared.
		race       func(t *testing.T, a *identity.Account)
		wantClaim  bool
		wantNotice bool
	}{
		{"no race: the notice is cleared", func(*testing.T, *identity.Account) {}, true, false},
		{"deletion accepted: the claim is the deletion's", func(t *testing.T, a *identity.Account) { f.acceptDeletion(t, a.ID) }, true, true},
		{"deletion finished: no claim comes back", func(t *testing.T, a *identity.Account) {
			f.acceptDeletion(t, a.ID)
			f.deleteItem(ctx, t, identity.EmailClaimKey(a.Email))
			f.deleteItem(ctx, t, identity.AccountKey(a.ID))
		}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := testenv.ActiveAccount(t, f.store, f.clock.Now())
			acct, err := f.store.Account(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			f.setNotice(t, acct.Email)
			if c, err := f.store.Credential(ctx, acct.Email); err != nil || !c.NotifyNextLogin {
				t.Fatalf("notice not set: %v", err)
			}
			tc.race(t, acct)
			if err := f.store.ClearLoginNotice(ctx, acct.Email); err != nil {
				t.Fatalf("ClearLoginNotice: %v", err)
			}
			claim := f.item(t, identity.EmailClaimKey(acct.Email))
			if (claim != nil) != tc.wantClaim {
				t.Fatalf("claim item %v, want it there: %v", claim, tc.wantClaim)
			}
			if _, notice := claim["notify_next_login"]; notice != tc.wantNotice {
				t.Fatalf("notice still asked for: %v, want %v", notice, tc.wantNotice)
			}
		})
	}
}

// TestTouchNeverRecreatesASession: the deletion's sessions step (or a
// revocation) deleting a session between Authenticate's read and its write
// of the last use leaves no session item, and the request is refused.
func TestTouchNeverRecreatesASession(t *testing.T) {
	f := newRaceFixture(t)
	ctx := t.Context()
	id := testenv.ActiveAccount(t, f.store, f.clock.Now())
	sess, tok, err := f.store.CreateSession(ctx, id, racePolicy)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute) // due for a touch
	f.db.hook = func(ctx context.Context) { f.deleteItem(ctx, t, identity.SessionKey(id, sess.ID)) }
	if _, err := f.store.Authenticate(ctx, tok, racePolicy); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("Authenticate: %v, want ErrNotFound", err)
	}
	if f.db.hook != nil {
		t.Fatal("no touch was written")
	}
	if it := f.item(t, identity.SessionKey(id, sess.ID)); it != nil {
		t.Fatalf("the touch recreated the session item: %v", it)
	}
}

// TestTokensOnlyForAccountsNotBeingDeleted: a verification or reset token
// (and its pointer in the account's partition) is written only while the
// account exists and its deletion has not begun; a decoy needs no account.
func TestTokensOnlyForAccountsNotBeingDeleted(t *testing.T) {
	f := newRaceFixture(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		want error
	}{
		{"active", nil}, {"pending", nil}, {"decoy", nil},
		{"deletion accepted", identity.ErrNotFound}, {"deletion finished", identity.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := f.accountIn(t, tc.name)
			value, err := f.store.IssueToken(ctx, identity.Token{Kind: identity.TokenResetPassword, AccountID: id}, time.Hour)
			if !errors.Is(err, tc.want) {
				t.Fatalf("IssueToken: %v, want %v", err, tc.want)
			}
			_, lerr := f.store.LookupToken(ctx, identity.TokenResetPassword, value)
			if (tc.want == nil) != (lerr == nil) {
				t.Fatalf("token stored: %v, want stored: %v", lerr == nil, tc.want == nil)
			}
			// Only a token of an account has a pointer: a decoy's would land in
			// one shared partition, a hot key.
			pointer := f.item(t, identity.TokenRefKey(id, identity.TokenResetPassword, ids.Hash(value))) != nil
			if want := tc.want == nil && id != ""; pointer != want {
				t.Fatalf("pointer stored: %v, want %v", pointer, want)
			}
		})
	}
}
