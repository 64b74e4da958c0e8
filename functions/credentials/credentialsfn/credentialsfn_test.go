package credentialsfn_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/functions/credentials/credentialsfn"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/sources"
)

// The keys of the test sources: not shaped like AWS keys, so that the
// log scrubber would not hide a leak from the test.
const (
	testKeyID  = "CredsFnKey00000001"
	testSecret = "credentials-fn-test-secret-key-0000000000"
)

// fixture is the credentials function as Lambda starts it, over a stack of
// its own, with the stores a test arranges accounts and sources with.
type fixture struct {
	st       *stack.Stack
	client   *dynamodb.Client
	table    string
	fn       *credentialsfn.Handler
	accounts *identity.Store
	sources  *sources.Store
	vault    *sources.Vault
	logs     *testenv.LogBuffer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st := testenv.NewStack(t)
	f := &fixture{st: st, client: stack.DynamoDBClient(st.DynamoDBEndpoint), table: st.Tables["StateTable"], logs: &testenv.LogBuffer{}}
	var err error
	if f.fn, err = credentialsfn.New(t.Context(), st.ColdstartEnv("credentials", f.logs, nil)); err != nil {
		t.Fatal(err)
	}
	f.accounts = identity.NewStore(f.client, f.table, nil)
	f.sources = sources.NewStore(f.client, f.table, nil)
	if f.vault, err = sources.NewVault(stack.SecretsManagerClient(st.SecretsManagerEndpoint), st.Prefix+"/sources/", stack.LocalSourcesKeyARN); err != nil {
		t.Fatal(err)
	}
	return f
}

// source registers a source for a new active account, as POST /v1/sources
// stores one, and returns the account and the source.
func (f *fixture) source(t testing.TB) (*identity.Account, *sources.Source) {
	t.Helper()
	ctx := t.Context()
	acct, err := f.accounts.Account(ctx, testenv.ActiveAccount(t, f.accounts, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	src := &sources.Source{ID: ids.New("src"), AccountID: acct.ID, Name: "images", Type: sources.TypeS3, Bucket: "cdn-images",
		Region: "eu-west-1", Prefix: "img/", AccessKeyHint: sources.KeyHint(testKeyID), CreatedAt: now, UpdatedAt: now,
		Verification: sources.Verification{Status: "verified", CheckedAt: now}}
	intent, err := f.sources.WriteIntent(ctx, acct.ID, src.ID, f.vault.SecretName(acct.ID, src.ID))
	if err != nil {
		t.Fatal(err)
	}
	if src.SecretARN, err = f.vault.Create(ctx, acct.ID, src.ID, sources.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	if err := f.sources.Create(ctx, src, 3, intent); err != nil {
		t.Fatal(err)
	}
	return acct, src
}

// acceptDeletion accepts the account's deletion as DELETE /v1/account does
// (functions/auth/authapi), and runs none of its steps.
func (f *fixture) acceptDeletion(t *testing.T, acct *identity.Account) {
	t.Helper()
	if _, created, err := deletion.NewStore(f.client, f.table, nil).Accept(t.Context(), acct); err != nil || !created {
		t.Fatalf("accept deletion: %v %v", created, err)
	}
}

func TestInvokeRefusesSourcesOfAccountsNotActive(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		// arrange changes the world after the source was registered; it
		// returns the request to make.
		arrange func(t *testing.T, acct *identity.Account, src *sources.Source) credentialsfn.Request
		granted bool
		reason  string // logged on a refusal
	}{
		{"active account", func(_ *testing.T, acct *identity.Account, src *sources.Source) credentialsfn.Request {
			return credentialsfn.Request{AccountID: acct.ID, SourceID: src.ID}
		}, true, ""},
		{"deletion accepted, sources step not yet run", func(t *testing.T, acct *identity.Account, src *sources.Source) credentialsfn.Request {
			f.acceptDeletion(t, acct)
			return credentialsfn.Request{AccountID: acct.ID, SourceID: src.ID}
		}, false, "account_not_active"},
		{"account item gone, source item left", func(t *testing.T, acct *identity.Account, src *sources.Source) credentialsfn.Request {
			if _, err := f.client.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: aws.String(f.table),
				Key: identity.AccountKey(acct.ID).AV()}); err != nil {
				t.Fatal(err)
			}
			return credentialsfn.Request{AccountID: acct.ID, SourceID: src.ID}
		}, false, "account_not_active"},
		{"another active account's source", func(t *testing.T, _ *identity.Account, src *sources.Source) credentialsfn.Request {
			other, _ := f.source(t)
			return credentialsfn.Request{AccountID: other.ID, SourceID: src.ID}
		}, false, "unknown_source"},
		{"unknown source of an active account", func(_ *testing.T, acct *identity.Account, _ *sources.Source) credentialsfn.Request {
			return credentialsfn.Request{AccountID: acct.ID, SourceID: ids.New("src")}
		}, false, "unknown_source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acct, src := f.source(t)
			req := tc.arrange(t, acct, src)
			before := len(f.logs.String())
			resp, err := f.fn.Invoke(t.Context(), req)
			logged := f.logs.String()[before:]
			if tc.granted {
				if err != nil {
					t.Fatalf("Invoke: %v", err)
				}
				if resp.AccessKeyID != testKeyID || resp.SecretAccessKey != testSecret || resp.Bucket != src.Bucket || resp.Prefix != src.Prefix {
					t.Fatalf("wrong answer for %s", src.ID)
				}
			} else {
				if !errors.Is(err, credentialsfn.ErrNotFound) || resp != nil {
					t.Fatalf("Invoke: %v, %v; want no answer and ErrNotFound", resp != nil, err)
				}
				// The one refusal, saying nothing of why, and no Go type name.
				if err.Error() != "source not found" {
					t.Fatalf("refusal %q", err.Error())
				}
				if !strings.Contains(logged, `"reason":"`+tc.reason+`"`) {
					t.Fatalf("refusal not logged with reason %s: %s", tc.reason, logged)
				}
				// Refused before the deletion job ran: the source is still stored.
				if _, err := f.sources.Get(t.Context(), src.AccountID, src.ID); err != nil {
					t.Fatalf("the source item is gone: %v", err)
				}
			}
			if strings.Contains(logged, testSecret) {
				t.Fatal("the secret key was logged")
			}
		})
	}
}
