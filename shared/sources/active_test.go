package sources_test

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
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// raceFixture: the sources store and vault over a stack of their own, and
// the identity store to make accounts with.
type raceFixture struct {
	client   *dynamodb.Client
	table    string
	accounts *identity.Store
	store    *sources.Store
	vault    *sources.Vault
}

func newRaceFixture(t *testing.T) *raceFixture {
	t.Helper()
	st := testenv.NewStack(t)
	f := &raceFixture{client: stack.DynamoDBClient(st.DynamoDBEndpoint), table: st.Tables["StateTable"]}
	f.accounts = identity.NewStore(f.client, f.table, nil)
	f.store = sources.NewStore(f.client, f.table, nil)
	var err error
	if f.vault, err = sources.NewVault(stack.SecretsManagerClient(st.SecretsManagerEndpoint), st.Prefix+"/sources/", stack.LocalSourcesKeyARN); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *raceFixture) account(t *testing.T) *identity.Account {
	t.Helper()
	a, err := f.accounts.Account(t.Context(), testenv.ActiveAccount(t, f.accounts, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *raceFixture) acceptDeletion(t *testing.T, a *identity.Account) {
	t.Helper()
	if _, created, err := deletion.NewStore(f.client, f.table, nil).Accept(t.Context(), a); err != nil || !created {
		t.Fatalf("accept deletion: %v %v", created, err)
	}
}

func (f *raceFixture) deleteAccountItem(t *testing.T, a *identity.Account) {
	t.Helper()
	if _, err := f.client.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: aws.String(f.table),
		Key: identity.AccountKey(a.ID).AV()}); err != nil {
		t.Fatal(err)
	}
}

func newSource(accountID string) *sources.Source {
	now := time.Now().UTC()
	return &sources.Source{ID: ids.New("src"), AccountID: accountID, Name: "images", Type: sources.TypeS3, Bucket: "cdn-images",
		Region: "eu-west-1", AccessKeyHint: "0001", CreatedAt: now, UpdatedAt: now,
		Verification: sources.Verification{Status: "verified", CheckedAt: now}}
}

// register stores a source as POST /v1/sources does: intent, secret, item.
func (f *raceFixture) register(t *testing.T, a *identity.Account) *sources.Source {
	t.Helper()
	ctx := t.Context()
	src := newSource(a.ID)
	in, err := f.store.WriteIntent(ctx, a.ID, src.ID, f.vault.SecretName(a.ID, src.ID))
	if err != nil {
		t.Fatal(err)
	}
	if src.SecretARN, err = f.vault.Create(ctx, a.ID, src.ID, sources.Credentials{AccessKeyID: "RaceKey0001", SecretAccessKey: "race-secret-0001"}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Create(ctx, src, 3, in); err != nil {
		t.Fatal(err)
	}
	return src
}

// intentsOf counts the account's write-ahead intents.
func (f *raceFixture) intentsOf(t *testing.T, accountID string) int {
	t.Helper()
	all, err := f.store.StaleIntents(t.Context(), time.Now().Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range all {
		if in.AccountID == accountID {
			n++
		}
	}
	return n
}

func (f *raceFixture) sourceItems(t *testing.T, accountID string) int {
	t.Helper()
	n := 0
	if err := statetable.EachInPartition(t.Context(), f.client, f.table, identity.AccountPartition(accountID), sources.SourcePrefix, nil,
		func(map[string]types.AttributeValue) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNewSourcesOnlyForActiveAccounts: once an account's deletion is
// accepted (or finished), neither the intent that precedes a new secret nor
// the source item itself is written, so nothing lands that the deletion job
// would miss; the job's own removal of the account's sources still works.
func TestNewSourcesOnlyForActiveAccounts(t *testing.T) {
	f := newRaceFixture(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		state func(t *testing.T, a *identity.Account)
		want  error
	}{
		{"active", func(*testing.T, *identity.Account) {}, nil},
		{"deletion accepted", f.acceptDeletion, sources.ErrAccountNotActive},
		{"deletion finished", func(t *testing.T, a *identity.Account) {
			f.acceptDeletion(t, a)
			f.deleteAccountItem(t, a)
		}, sources.ErrAccountNotActive},
	} {
		t.Run(tc.name+"/intent", func(t *testing.T) {
			a := f.account(t)
			tc.state(t, a)
			src := newSource(a.ID)
			_, err := f.store.WriteIntent(ctx, a.ID, src.ID, f.vault.SecretName(a.ID, src.ID))
			if !errors.Is(err, tc.want) {
				t.Fatalf("WriteIntent: %v, want %v", err, tc.want)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.want == nil]; f.intentsOf(t, a.ID) != want {
				t.Fatalf("%d intents stored, want %d", f.intentsOf(t, a.ID), want)
			}
		})
		t.Run(tc.name+"/source", func(t *testing.T) {
			// The intent was written while the account was active: the
			// deletion was accepted while the secret was being created.
			a := f.account(t)
			src := newSource(a.ID)
			in, err := f.store.WriteIntent(ctx, a.ID, src.ID, f.vault.SecretName(a.ID, src.ID))
			if err != nil {
				t.Fatal(err)
			}
			tc.state(t, a)
			src.SecretARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + f.vault.SecretName(a.ID, src.ID)
			if err := f.store.Create(ctx, src, 3, in); !errors.Is(err, tc.want) {
				t.Fatalf("Create: %v, want %v", err, tc.want)
			}
			want := map[bool]int{true: 1, false: 0}[tc.want == nil]
			if n := f.sourceItems(t, a.ID); n != want {
				t.Fatalf("%d source items stored, want %d", n, want)
			}
			if tc.want != nil && f.intentsOf(t, a.ID) != 1 {
				t.Fatal("a refused Create cleared the intent its caller undoes")
			}
		})
	}
	t.Run("limit reached is still ErrLimitReached", func(t *testing.T) {
		a := f.account(t)
		f.register(t, a)
		src := newSource(a.ID)
		in, err := f.store.WriteIntent(ctx, a.ID, src.ID, f.vault.SecretName(a.ID, src.ID))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.Create(ctx, src, 1, in); !errors.Is(err, sources.ErrLimitReached) {
			t.Fatalf("Create: %v", err)
		}
	})
	t.Run("the deletion job still removes sources", func(t *testing.T) {
		a := f.account(t)
		src := f.register(t, a)
		f.acceptDeletion(t, a)
		if err := sources.Remove(ctx, f.store, f.vault, src); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		if n := f.sourceItems(t, a.ID); n != 0 {
			t.Fatalf("%d source items left", n)
		}
		if n := f.intentsOf(t, a.ID); n != 0 {
			t.Fatalf("%d intents left", n)
		}
	})
}

// TestGetActive: the read behind the internal credentials function refuses
// a source from the moment its account's deletion is accepted, while the
// source item is still there for the deletion job to remove.
func TestGetActive(t *testing.T) {
	f := newRaceFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		state func(t *testing.T, a *identity.Account)
		other bool // ask for an unknown source id
		want  error
	}{
		{"active", func(*testing.T, *identity.Account) {}, false, nil},
		{"active, unknown source", func(*testing.T, *identity.Account) {}, true, sources.ErrNotFound},
		{"deletion accepted", f.acceptDeletion, false, sources.ErrAccountNotActive},
		{"account item gone", f.deleteAccountItem, false, sources.ErrAccountNotActive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.account(t)
			src := f.register(t, a)
			tc.state(t, a)
			id := src.ID
			if tc.other {
				id = ids.New("src")
			}
			got, err := f.store.GetActive(ctx, a.ID, id)
			if !errors.Is(err, tc.want) {
				t.Fatalf("GetActive: %v, want %v", err, tc.want)
			}
			if tc.want == nil && (got.ID != src.ID || got.SecretARN != src.SecretARN || got.AccountID != a.ID) {
				t.Fatalf("read %+v", got)
			}
			if _, err := f.store.Get(ctx, a.ID, src.ID); err != nil {
				t.Fatalf("the source item is gone: %v", err)
			}
		})
	}
}
