package runner_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/billing/billingtest"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/deletion/runner"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
	"github.com/atrium-cdn/atrium/shared/web"
	"github.com/stripe/stripe-go/v76"
)

// fixture: one stack (tables, the local Secrets Manager) per test, a Stripe
// double that records calls, and a Runner wired as in Lambda, over a
// DynamoDB and a Secrets Manager that tests can make fail.
type fixture struct {
	st       *stack.Stack
	client   *dynamodb.Client
	db       *faultyDB
	sm       *faultySM
	table    string
	logTable string
	backend  *billingtest.Backend
	keyer    *pseudonym.Keyer
	accounts *identity.Store
	billing  *billing.Store
	sources  *sources.Store
	vault    *sources.Vault
	jobs     *deletion.Store
	runner   *runner.Runner
	logs     *testenv.LogBuffer
	calls    *atomic.Int64 // DynamoDB calls made through client, retries not counted
	latency  *atomic.Int64 // a time.Duration added to each call (a benchmark's model of a network round trip)
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st := testenv.NewStack(t)
	f := &fixture{}
	client := dynamodb.New(stack.DynamoDBClient(st.DynamoDBEndpoint).Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					f.calls.Add(1)
					if d := time.Duration(f.latency.Load()); d > 0 {
						time.Sleep(d)
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	})
	*f = fixture{st: st, client: client, db: &faultyDB{DynamoDB: client},
		sm:    &faultySM{SecretsManager: stack.SecretsManagerClient(st.SecretsManagerEndpoint)},
		table: st.Tables["StateTable"], logTable: st.Tables["RequestLogTable"], backend: billingtest.New(), logs: &testenv.LogBuffer{},
		calls: new(atomic.Int64), latency: new(atomic.Int64)}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	f.keyer, _ = pseudonym.New(key)
	f.accounts = identity.NewStore(f.db, f.table, nil)
	f.billing = billing.NewStore(f.db, f.table, nil)
	f.sources = sources.NewStore(f.db, f.table, nil)
	var err error
	if f.vault, err = sources.NewVault(f.sm, st.Prefix+"/sources/", stack.LocalSourcesKeyARN); err != nil {
		t.Fatal(err)
	}
	f.jobs = deletion.NewStore(f.db, f.table, nil)
	f.runner = &runner.Runner{DB: f.db, Table: f.table, Jobs: f.jobs,
		Erasers: runner.Erasers(runner.Parts{Accounts: f.accounts, Sources: f.sources, Vault: f.vault, Billing: f.billing,
			Stripe: billing.NewStripeWithBackend("sk_test_deletionfixture", f.backend),
			Limits: throttle.NewStore(f.db, f.table, throttle.DefaultPolicy(), nil), Keyer: f.keyer,
			DB: f.db, RequestLogTable: f.logTable, Passkeys: passkeys.NewStore(f.db, f.table, nil)}),
		Logger: logging.New(f.logs, slog.LevelDebug), Now: time.Now}
	return f
}

// owned is an account with one of everything, and what identifies it.
type owned struct {
	acct       *identity.Account
	customerID string
	sourceIDs  []string
	secretARNs []string
	subject    string // the failed-login counter's pseudonym
	rateKey    string // the compliance-request counter's pseudonym
}

// strings that must not survive the account anywhere.
func (o *owned) traces() []string {
	return append([]string{o.acct.ID, o.acct.Email, o.customerID, o.subject, o.rateKey}, o.sourceIDs...)
}

const requestLogsPerAccount = 30 // two BatchWriteItem pages

// populate creates an active account with two sessions, two pending
// tokens, two sources with their secrets, a Stripe customer on premium, a
// failed-login counter and request-log items.
func (f *fixture) populate(t testing.TB) *owned {
	t.Helper()
	ctx := context.Background()
	id := testenv.ActiveAccount(t, identity.NewStore(f.client, f.table, nil), time.Now())
	acct, err := f.accounts.Account(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	o := &owned{acct: acct, subject: f.keyer.Of("email", acct.Email)}
	policy := identity.SessionPolicy{IdleTimeout: time.Hour, MaxLifetime: 12 * time.Hour}
	for range 2 {
		if _, _, err := f.accounts.CreateSession(ctx, id, policy); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []string{identity.TokenVerifyEmail, identity.TokenResetPassword} {
		if _, err := f.accounts.IssueToken(ctx, identity.Token{Kind: kind, AccountID: id}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		src := &sources.Source{ID: ids.New("src"), AccountID: id, Name: fmt.Sprintf("bucket %d", i), Type: "s3",
			Bucket: "b", Region: "us-east-1", AccessKeyHint: "0001", CreatedAt: time.Now(), UpdatedAt: time.Now(),
			Verification: sources.Verification{Status: "verified", CheckedAt: time.Now()}}
		intent, err := f.sources.WriteIntent(ctx, id, src.ID, f.vault.SecretName(id, src.ID))
		if err != nil {
			t.Fatal(err)
		}
		if src.SecretARN, err = f.vault.Create(ctx, id, src.ID, sources.Credentials{AccessKeyID: "AKIADELETIONTEST0001",
			SecretAccessKey: "deletion-test-secret-key-000000000000"}); err != nil {
			t.Fatal(err)
		}
		if err := f.sources.Create(ctx, src, 25, intent); err != nil {
			t.Fatal(err)
		}
		o.sourceIDs = append(o.sourceIDs, src.ID)
		o.secretARNs = append(o.secretARNs, src.SecretARN)
	}
	o.customerID = f.backend.AddCustomer()
	if err := f.billing.Link(ctx, id, o.customerID); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.billing.Apply(ctx, id, o.customerID, billing.State{Plan: plans.Premium, Status: "active",
		SubscriptionID: "sub_x"}, time.Now().UnixMilli(), time.Now()); err != nil || !ok {
		t.Fatal(ok, err)
	}
	limits := throttle.NewStore(f.client, f.table, throttle.DefaultPolicy(), nil)
	if _, _, err := limits.TakeAttempt(ctx, o.subject); err != nil {
		t.Fatal(err)
	}
	// A reset email counted against the address's cap.
	if _, err := limits.Allow(ctx, throttle.MailReset, o.subject, throttle.Limit{Max: 5, Window: throttle.MailWindow}); err != nil {
		t.Fatal(err)
	}
	o.rateKey = f.keyer.Of(compliance.RateDomain, id)
	if _, err := limits.Allow(ctx, compliance.RateAction, o.rateKey, compliance.RequestLimit); err != nil {
		t.Fatal(err)
	}
	for i := range requestLogsPerAccount {
		it := requestlog.NewItem(web.Completed{AccountID: id, RequestID: fmt.Sprintf("req_%d_%s", i, id[5:]), Function: "account",
			Method: "GET", Route: "GET /v1/account", Status: 200}, time.Now().Add(-time.Duration(i)*time.Minute))
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &f.logTable, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// itemsHolding returns the items of a table that hold any of the strings.
func (f *fixture) itemsHolding(t testing.TB, table string, needles []string) []string {
	t.Helper()
	var found []string
	p := dynamodb.NewScanPaginator(f.client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			text := strings.ToLower(fmt.Sprint(m))
			for _, n := range needles {
				if n != "" && strings.Contains(text, strings.ToLower(n)) {
					found = append(found, fmt.Sprintf("%v/%v", m["pk"], m["sk"]))
					break
				}
			}
		}
	}
	return found
}

// secretsOf lists the secrets left under the account's name prefix.
func (f *fixture) secretsOf(t testing.TB, accountID string) []string {
	t.Helper()
	out, err := stack.SecretsManagerClient(f.st.SecretsManagerEndpoint).ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{f.vault.SecretName(accountID, "")}}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range out.SecretList {
		names = append(names, aws.ToString(s.Name))
	}
	return names
}

// assertGone checks that nothing of the account is left but its receipt.
func (f *fixture) assertGone(t testing.TB, o *owned, job *deletion.Job) {
	t.Helper()
	if job == nil || job.Status != deletion.StatusDone {
		t.Fatalf("job not done: %+v", job)
	}
	if left := f.itemsHolding(t, f.table, o.traces()); len(left) > 0 {
		t.Errorf("state table still holds the account in %v", left)
	}
	if left := f.itemsHolding(t, f.logTable, o.traces()); len(left) > 0 {
		t.Errorf("request-log table still holds %d items of the account", len(left))
	}
	if left := f.secretsOf(t, o.acct.ID); len(left) > 0 {
		t.Errorf("secrets left: %v", left)
	}
	if live, _ := billing.NewStripeWithBackend("sk_test_x", f.backend).CustomerExists(context.Background(), o.customerID); live {
		t.Errorf("the Stripe customer still exists")
	}
	stored, err := f.jobs.Get(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccountID != "" || stored.LeaseToken != "" {
		t.Errorf("the receipt keeps the account id or a lease: %+v", stored)
	}
	if stored.Digest != deletion.Digest(job.ID, o.acct.ID, o.acct.Email) {
		t.Errorf("digest %s does not prove the account", stored.Digest)
	}
	if exp := time.Unix(stored.ExpiresAt, 0); exp.Before(time.Now().Add(deletion.ReceiptRetention-time.Hour)) ||
		exp.After(time.Now().Add(deletion.ReceiptRetention+time.Hour)) {
		t.Errorf("receipt expires at %v", exp)
	}
}

// assertIntact checks that another account lost nothing.
func (f *fixture) assertIntact(t testing.TB, o *owned) {
	t.Helper()
	ctx := context.Background()
	if a, err := f.accounts.Account(ctx, o.acct.ID); err != nil || a.Status != identity.StatusActive {
		t.Fatalf("the other account: %v %+v", err, a)
	}
	if s, _ := f.accounts.Sessions(ctx, o.acct.ID); len(s) != 2 {
		t.Errorf("the other account has %d sessions", len(s))
	}
	if l, _ := f.sources.List(ctx, o.acct.ID); len(l) != 2 {
		t.Errorf("the other account has %d sources", len(l))
	}
	if n := len(f.secretsOf(t, o.acct.ID)); n != 2 {
		t.Errorf("the other account has %d secrets", n)
	}
	if n := len(f.itemsHolding(t, f.logTable, []string{o.acct.ID})); n != requestLogsPerAccount {
		t.Errorf("the other account has %d request logs", n)
	}
	if live, _ := billing.NewStripeWithBackend("sk_test_x", f.backend).CustomerExists(ctx, o.customerID); !live {
		t.Errorf("the other account's Stripe customer was deleted")
	}
}

// faultyDB fails the write numbered failAt (1-based, counted from arming),
// as an outage or a crash at that point would.
type faultyDB struct {
	statetable.DynamoDB
	writes atomic.Int64
	failAt atomic.Int64 // 0: never
}

func (d *faultyDB) arm(n int64) { d.writes.Store(0); d.failAt.Store(n) }

var errInjected = errors.New("injected failure")

func (d *faultyDB) fail() error {
	n := d.writes.Add(1)
	if n == d.failAt.Load() {
		return errInjected
	}
	return nil
}

func (d *faultyDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := d.fail(); err != nil {
		return nil, err
	}
	return d.DynamoDB.PutItem(ctx, in, o...)
}

func (d *faultyDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := d.fail(); err != nil {
		return nil, err
	}
	return d.DynamoDB.UpdateItem(ctx, in, o...)
}

func (d *faultyDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if err := d.fail(); err != nil {
		return nil, err
	}
	return d.DynamoDB.DeleteItem(ctx, in, o...)
}

func (d *faultyDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if err := d.fail(); err != nil {
		return nil, err
	}
	return d.DynamoDB.TransactWriteItems(ctx, in, o...)
}

func (d *faultyDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if err := d.fail(); err != nil {
		return nil, err
	}
	return d.DynamoDB.BatchWriteItem(ctx, in, o...)
}

// faultySM fails DeleteSecret while failDeletes is set.
type faultySM struct {
	sources.SecretsManager
	failDeletes atomic.Bool
}

func (s *faultySM) DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	if s.failDeletes.Load() {
		return nil, errInjected
	}
	return s.SecretsManager.DeleteSecret(ctx, in, o...)
}

// billingtestSub is the customer's premium subscription at Stripe.
func billingtestSub(customerID string) billingtest.Subscription {
	return billingtest.Subscription{ID: "sub_x", Customer: customerID, Status: stripe.SubscriptionStatusCanceled, PriceID: "price_p"}
}
