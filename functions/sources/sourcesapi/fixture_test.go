package sourcesapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/atrium-cdn/atrium/infra/local/fakes3"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/s3check"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/web"
)

// The customer's storage, as fakes3 serves it. The access key ids are not
// shaped like AWS ones (no AKIA prefix, shorter than 32 characters), so the
// logger's scrubber would not catch them: a leak test then tests the service,
// not the scrubber.
const (
	testBucket    = "cdn-images"     // exists; readerKey and readerKey2 may read it
	missingBucket = "no-such-bucket" // does not exist
	readerKey     = "ReaderKey00000001"
	readerKey2    = "ReaderKey00000002"
	deniedKey     = "DeniedKey00000009" // never granted anything
)

// errInjected is the fault the wrappers return.
var errInjected = errors.New("injected test fault")

// clock is the settable clock shared by a fixture's stores.
type clock = testenv.Clock

// countdown fails the next n calls of one operation.
type countdown struct {
	mu    sync.Mutex
	left  int
	calls int // every call, failed or not
}

func (c *countdown) arm(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.left = n
}

// fail counts a call and reports whether it must fail.
func (c *countdown) fail() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.left > 0 {
		c.left--
		return true
	}
	return false
}

func (c *countdown) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// events is an ordered log of what happened in a request: the secrets
// created and deleted, the item writes, and the response's status.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, fmt.Sprintf(format, args...))
}

// take returns the events so far and forgets them.
func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.list
	e.list = nil
	return l
}

// outcome names an operation's result for the event log.
func outcome(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}

// faultyDB is the sources store's DynamoDB client, failing writes on demand.
type faultyDB struct {
	*dynamodb.Client
	ev            *events
	transact, put countdown
}

func (d *faultyDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if d.transact.fail() {
		d.ev.add("transact failed")
		return nil, errInjected
	}
	out, err := d.Client.TransactWriteItems(ctx, in, opts...)
	d.ev.add("transact %s", outcome(err))
	return out, err
}

func (d *faultyDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if d.put.fail() {
		d.ev.add("put failed")
		return nil, errInjected
	}
	out, err := d.Client.PutItem(ctx, in, opts...)
	d.ev.add("put %s", outcome(err))
	return out, err
}

func (d *faultyDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	out, err := d.Client.DeleteItem(ctx, in, opts...)
	d.ev.add("delete item %s", outcome(err))
	return out, err
}

// faultySM is the vault's Secrets Manager client, failing calls on demand and
// noting the names of the secrets it was asked to create.
type faultySM struct {
	*secretsmanager.Client
	ev               *events
	create, del, put countdown
	// beforePut and afterPut, when set, run around a PutSecretValue (once
	// each: they are cleared when they run), to stage a concurrent request.
	beforePut, afterPut func()

	mu      sync.Mutex
	created []string
}

func (s *faultySM) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	s.mu.Lock()
	s.created = append(s.created, aws.ToString(in.Name))
	s.mu.Unlock()
	if s.create.fail() {
		s.ev.add("create secret failed")
		return nil, errInjected
	}
	out, err := s.Client.CreateSecret(ctx, in, opts...)
	s.ev.add("create secret %s", outcome(err))
	return out, err
}

func (s *faultySM) DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	if s.del.fail() {
		s.ev.add("delete secret failed")
		return nil, errInjected
	}
	out, err := s.Client.DeleteSecret(ctx, in, opts...)
	s.ev.add("delete secret %s", outcome(err))
	return out, err
}

func (s *faultySM) PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	s.mu.Lock()
	before, after := s.beforePut, s.afterPut
	s.beforePut, s.afterPut = nil, nil
	s.mu.Unlock()
	if before != nil {
		before()
	}
	if s.put.fail() {
		return nil, errInjected
	}
	out, err := s.Client.PutSecretValue(ctx, in, opts...)
	if after != nil {
		after()
	}
	return out, err
}

// createdNames returns the names of every secret CreateSecret was asked for.
func (s *faultySM) createdNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.created...)
}

// countingChecker counts the read checks the service asks for, and notes
// the location of the last one.
type countingChecker struct {
	next ReadChecker
	mu   sync.Mutex
	n    int
	last s3check.Location
}

func (c *countingChecker) CheckRead(ctx context.Context, loc s3check.Location, keys s3check.Keys) error {
	c.mu.Lock()
	c.n++
	c.last = loc
	c.mu.Unlock()
	return c.next.CheckRead(ctx, loc, keys)
}

// lastLocation is the location of the last read check.
func (c *countingChecker) lastLocation() s3check.Location {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (c *countingChecker) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// fixture is a sources function assembled from its parts over the local
// stack, with fault injection on the store's DynamoDB client and the vault's
// Secrets Manager client, and a fakes3 bucket as the customer's storage.
type fixture struct {
	stack    *stack.Stack
	clock    *clock
	rawDB    *dynamodb.Client
	db       *faultyDB
	rawSM    *secretsmanager.Client
	sm       *faultySM
	store    *sources.Store
	vault    *sources.Vault
	accounts *identity.Store
	auth     *identity.Authenticator
	checker  *countingChecker
	svc      *Service
	handler  http.Handler
	logs     *testenv.LogBuffer
	s3       *fakes3.Server
	s3URL    string
	prefix   string // of the secrets' names
	ev       *events

	mu        sync.Mutex
	responses []string // every response body the handler wrote
	secrets   []string // every secret access key sent (that must never leak)
	keyIDs    []string // every full access key id sent
	n         int
}

func newFixture(t testing.TB, limits Limits) *fixture {
	t.Helper()
	st := testenv.NewStack(t)
	env := st.Env("sources")
	f := &fixture{
		stack:  st,
		clock:  testenv.NewClock(time.Now().UTC()),
		rawDB:  stack.DynamoDBClient(st.DynamoDBEndpoint),
		rawSM:  stack.SecretsManagerClient(st.SecretsManagerEndpoint),
		logs:   &testenv.LogBuffer{},
		s3:     fakes3.New(),
		prefix: env["SOURCES_SECRET_PREFIX"],
		keyIDs: []string{readerKey, readerKey2, deniedKey},
		ev:     &events{},
	}
	f.db = &faultyDB{Client: f.rawDB, ev: f.ev}
	f.sm = &faultySM{Client: f.rawSM, ev: f.ev}
	table := env["STATE_TABLE"]
	f.store = sources.NewStore(f.db, table, f.clock.Now)
	vault, err := sources.NewVault(f.sm, f.prefix, env["SOURCES_KMS_KEY_ARN"])
	if err != nil {
		t.Fatal(err)
	}
	f.vault = vault
	f.accounts = identity.NewStore(f.rawDB, table, f.clock.Now)
	f.auth = identity.NewAuthenticator(f.accounts, identity.SessionPolicy{IdleTimeout: time.Hour, MaxLifetime: 24 * time.Hour}, nil)
	f.checker = &countingChecker{next: s3check.New(s3check.Options{AllowLoopbackHTTP: true})}
	logger := logging.New(f.logs, slog.LevelDebug)
	f.svc = &Service{Store: f.store, Vault: f.vault, Checker: f.checker,
		Limits: limits, AllowLoopback: true, Logger: logger,
		StepUp: passkeys.NewStepUp(f.rawDB, table, f.clock.Now, mfa.DefaultStepUpWindow)}
	f.handler = web.Wrap(f.svc.Handler(f.auth), web.Options{Logger: logger, Function: "sources"})

	if err := f.s3.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	if err := f.s3.PutObject(testBucket, "images/cat.jpg", []byte("not really a jpeg")); err != nil {
		t.Fatal(err)
	}
	f.s3.Grant(readerKey, testBucket)
	f.s3.Grant(readerKey2, testBucket)
	srv := httptest.NewServer(f.s3)
	t.Cleanup(srv.Close)
	f.s3URL = srv.URL
	t.Cleanup(func() {
		if w := f.s3.Writes(); w != 0 {
			t.Errorf("the service tried to write to the customer's bucket %d times", w)
		}
	})
	return f
}

// secret returns a fresh secret access key, remembered for the leak checks:
// printable ASCII, shorter than 32 characters and holding characters the
// logger's scrubber does not treat as part of a token.
func (f *fixture) secret() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	s := fmt.Sprintf("Sk~%s!%03d", ids.Secret()[:12], f.n)
	f.secrets = append(f.secrets, s)
	return s
}

// remember adds a value sent as a secret to the leak checks.
func (f *fixture) remember(secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets = append(f.secrets, secret)
}

// account creates an active account of the plan and returns its id and a
// session token: a pending account, activated with a verification token
// issued for it, then a session, exactly as signup and verification leave them.
func (f *fixture) account(t testing.TB, plan string) (acctID, token string) {
	t.Helper()
	ctx := context.Background()
	id := testenv.ActiveAccount(t, f.accounts, f.clock.Now())
	if plan != plans.Standard {
		e, err := expression.NewBuilder().WithUpdate(plans.Set(expression.UpdateBuilder{}, plan, false, time.Time{})).Build()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.rawDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(f.stack.Tables["StateTable"]), Key: identity.AccountKey(id).AV(),
			UpdateExpression:          e.Update(),
			ExpressionAttributeNames:  e.Names(),
			ExpressionAttributeValues: e.Values(),
		}); err != nil {
			t.Fatal(err)
		}
	}
	_, token, err := f.accounts.CreateSession(ctx, id, f.auth.Policy())
	if err != nil {
		t.Fatal(err)
	}
	return id, token
}

// response is what the handler answered.
type response struct {
	status  int
	header  http.Header
	raw     []byte
	json    map[string]any
	problem web.Problem
}

// do sends a request to the handler with a bearer token ("" for none) and a
// body: nil for none, a string as is, anything else as JSON.
func (f *fixture) do(t testing.TB, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return f.send(t, req, token)
}

// doRaw sends a raw body with the given content type ("" for none).
func (f *fixture) doRaw(t testing.TB, method, path, token, contentType, body string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return f.send(t, req, token)
}

// send serves a request, records the response body and decodes it.
func (f *fixture) send(t testing.TB, req *http.Request, token string) response {
	t.Helper()
	method, path := req.Method, req.URL.Path
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(&orderedWriter{ResponseRecorder: rec, ev: f.ev}, req)
	r := response{status: rec.Code, header: rec.Header(), raw: rec.Body.Bytes()}
	f.mu.Lock()
	f.responses = append(f.responses, rec.Body.String())
	f.mu.Unlock()
	if len(r.raw) > 0 {
		if err := json.Unmarshal(r.raw, &r.json); err != nil {
			t.Fatalf("%s %s: response is not JSON: %v: %s", method, path, err, r.raw)
		}
	}
	if r.status >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s: %d with Content-Type %q: %s", method, path, r.status, ct, r.raw)
		}
		dec := json.NewDecoder(bytes.NewReader(r.raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r.problem); err != nil {
			t.Fatalf("%s %s: problem does not decode: %v: %s", method, path, err, r.raw)
		}
		if r.problem.Status != r.status || r.problem.Code == "" || r.problem.Detail == "" {
			t.Fatalf("%s %s: malformed problem for %d: %s", method, path, r.status, r.raw)
		}
	}
	return r
}

// want fails unless the response has the status and, for an error, the code.
func (r response) want(t testing.TB, status int, code string) response {
	t.Helper()
	if r.status != status || r.problem.Code != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.status, r.problem.Code, status, code, r.raw)
	}
	return r
}

// source returns the "source" object of a response.
func (r response) source(t testing.TB) map[string]any {
	t.Helper()
	src, ok := r.json["source"].(map[string]any)
	if !ok {
		t.Fatalf("no source in %s", r.raw)
	}
	return src
}

// createBody is a valid registration of the fixture's bucket with the keys;
// set replaces fields (a nil value removes one).
func (f *fixture) createBody(name, keyID, secret string, set map[string]any) map[string]any {
	b := map[string]any{
		"name": name, "type": "s3_compatible", "bucket": testBucket, "region": "us-east-1",
		"endpoint": f.s3URL, "access_key_id": keyID, "secret_access_key": secret,
	}
	for k, v := range set {
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
	}
	return b
}

// register creates a source that must succeed, and returns its id.
func (f *fixture) register(t testing.TB, token, name, keyID, secret string) string {
	t.Helper()
	r := f.do(t, http.MethodPost, "/v1/sources", token, f.createBody(name, keyID, secret, nil)).want(t, http.StatusCreated, "")
	return r.source(t)["id"].(string)
}

// secretName is the name of a source's secret.
func (f *fixture) secretName(acctID, srcID string) string { return f.vault.SecretName(acctID, srcID) }

// secretValue reads a secret's current value and version with the real
// client; ok is false when the secret does not exist.
func (f *fixture) secretValue(t testing.TB, id string) (creds map[string]string, versionID string, ok bool) {
	t.Helper()
	out, err := f.rawSM.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, "", false
	}
	if err != nil {
		t.Fatalf("get secret value %s: %v", id, err)
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &creds); err != nil {
		t.Fatalf("secret value of %s is not JSON", id)
	}
	return creds, aws.ToString(out.VersionId), true
}

// mustNotExist fails unless the secret is gone (ResourceNotFoundException).
func (f *fixture) mustNotExist(t testing.TB, id string) {
	t.Helper()
	_, err := f.rawSM.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	var nf *smtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("secret %s: GetSecretValue error %v, want ResourceNotFoundException", id, err)
	}
}

// listSecrets lists the secrets whose names begin with prefix (every secret
// of this fixture for f.prefix, one account's for f.prefix + acctID + "/").
func (f *fixture) listSecrets(t testing.TB, prefix string) []smtypes.SecretListEntry {
	t.Helper()
	var all []smtypes.SecretListEntry
	p := secretsmanager.NewListSecretsPaginator(f.rawSM, &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list secrets: %v", err)
		}
		for _, s := range page.SecretList {
			// The filter is a prefix match on words; keep exact prefixes only.
			if strings.HasPrefix(aws.ToString(s.Name), prefix) {
				all = append(all, s)
			}
		}
	}
	return all
}

// intents returns every intent in the table, stale or not.
func (f *fixture) intents(t testing.TB) []*sources.Intent {
	t.Helper()
	in, err := f.store.StaleIntents(context.Background(), f.clock.Now().Add(24*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// sourceItem reads a source's item with the raw client; nil when absent.
func (f *fixture) sourceItem(t testing.TB, acctID, srcID string) map[string]ddbtypes.AttributeValue {
	t.Helper()
	out, err := f.rawDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(f.stack.Tables["StateTable"]), Key: sources.SourceKey(acctID, srcID).AV(), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// sourceCount is the account's source_count as stored.
func (f *fixture) sourceCount(t testing.TB, acctID string) int {
	t.Helper()
	a, err := f.accounts.Account(context.Background(), acctID)
	if err != nil {
		t.Fatal(err)
	}
	var u sources.Usage
	if err := a.DecodeAccount(&u); err != nil {
		t.Fatal(err)
	}
	return u.SourceCount
}

// storedSources lists the account's sources straight from the store.
func (f *fixture) storedSources(t testing.TB, acctID string) []*sources.Source {
	t.Helper()
	all, err := f.store.List(context.Background(), acctID)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// nothingStored fails unless the account has no source item, no secret, no
// count, and the table holds no intent.
func (f *fixture) nothingStored(t testing.TB, acctID string) {
	t.Helper()
	if n := len(f.storedSources(t, acctID)); n != 0 {
		t.Errorf("%d source items stored", n)
	}
	if s := f.listSecrets(t, f.prefix+acctID+"/"); len(s) != 0 {
		t.Errorf("%d secrets stored, first %s", len(s), aws.ToString(s[0].Name))
	}
	if in := f.intents(t); len(in) != 0 {
		t.Errorf("%d intents left, first %+v", len(in), *in[0])
	}
	if n := f.sourceCount(t, acctID); n != 0 {
		t.Errorf("source_count %d, want 0", n)
	}
}

// scanStrings returns, for every item of every table of the stack, all its
// attribute names and values as text, recursively.
func (f *fixture) scanStrings(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, table := range f.stack.Tables {
		p := dynamodb.NewScanPaginator(f.rawDB, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			for _, item := range page.Items {
				var b strings.Builder
				walkItem(&b, &ddbtypes.AttributeValueMemberM{Value: item})
				out = append(out, b.String())
			}
		}
	}
	return out
}

func walkItem(b *strings.Builder, av ddbtypes.AttributeValue) {
	switch v := av.(type) {
	case *ddbtypes.AttributeValueMemberS:
		b.WriteString(v.Value + "\n")
	case *ddbtypes.AttributeValueMemberN:
		b.WriteString(v.Value + "\n")
	case *ddbtypes.AttributeValueMemberB:
		b.Write(v.Value)
		b.WriteString("\n")
	case *ddbtypes.AttributeValueMemberSS:
		b.WriteString(strings.Join(v.Value, "\n") + "\n")
	case *ddbtypes.AttributeValueMemberNS:
		b.WriteString(strings.Join(v.Value, "\n") + "\n")
	case *ddbtypes.AttributeValueMemberBS:
		for _, x := range v.Value {
			b.Write(x)
			b.WriteString("\n")
		}
	case *ddbtypes.AttributeValueMemberL:
		for _, x := range v.Value {
			walkItem(b, x)
		}
	case *ddbtypes.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(k + "\n")
			walkItem(b, v.Value[k])
		}
	}
}

// forms are the ways a value may appear in stored or logged text: as is,
// and escaped inside a JSON string.
func forms(s string) []string {
	q, _ := json.Marshal(s)
	return []string{s, string(q[1 : len(q)-1])}
}

// leaks reports which of the words appear in text.
func leaks(text string, words []string) []string {
	var found []string
	for _, w := range words {
		for _, form := range forms(w) {
			if w != "" && strings.Contains(text, form) {
				found = append(found, w)
				break
			}
		}
	}
	return found
}

// assertNoLeaks proves P3 over everything the fixture saw: no secret access
// key sent (of at least 8 bytes) and no full access key id appears in any
// DynamoDB item of any table, any log line, any response body, or any
// secret's metadata (names, description, tags, key id) in Secrets Manager.
func (f *fixture) assertNoLeaks(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	var words []string
	for _, s := range f.secrets {
		if len(s) >= 8 {
			words = append(words, s)
		}
	}
	words = append(words, f.keyIDs...)
	responses := append([]string(nil), f.responses...)
	f.mu.Unlock()
	if len(words) < 4 || len(responses) == 0 {
		t.Fatalf("the leak check has nothing to look for: %d words, %d responses", len(words), len(responses))
	}

	items := f.scanStrings(t)
	if len(items) == 0 {
		t.Fatal("the scan found no item at all")
	}
	for _, item := range items {
		if l := leaks(item, words); l != nil {
			t.Errorf("a DynamoDB item holds %q:\n%s", l, item)
		}
	}
	for _, line := range strings.Split(f.logs.String(), "\n") {
		if l := leaks(line, words); l != nil {
			t.Errorf("a log line holds %q:\n%s", l, line)
		}
	}
	for _, body := range responses {
		if l := leaks(body, words); l != nil {
			t.Errorf("a response holds %q:\n%s", l, body)
		}
	}
	for _, s := range f.listSecrets(t, f.prefix) {
		meta, _ := json.Marshal(s)
		if l := leaks(string(meta), words); l != nil {
			t.Errorf("the metadata of secret %s holds %q", aws.ToString(s.Name), l)
		}
	}
}

// closedPort returns a loopback address nobody listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// decodeSource decodes a stored item, for tests that look at it.
func decodeSource(t testing.TB, item map[string]ddbtypes.AttributeValue) *sources.Source {
	t.Helper()
	var s sources.Source
	if err := attributevalue.UnmarshalMap(item, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// orderedWriter notes in the event log the moment the response's status is
// written, so a test can tell what happened before the client had its answer.
type orderedWriter struct {
	*httptest.ResponseRecorder
	ev    *events
	wrote bool
}

func (w *orderedWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.ev.add("respond %d", code)
	}
	w.ResponseRecorder.WriteHeader(code)
}

func (w *orderedWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseRecorder.Write(b)
}
