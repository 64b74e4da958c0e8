package accountapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/web"
)

// clock is the settable clock shared by a fixture's stores.
type clock = testenv.Clock

// fixture is the account function as Lambda builds it (accountapi.New from
// the stack's environment, so the real recorder writes one request-log item
// per request), with a clock the test moves one second after each request.
type fixture struct {
	stack    *stack.Stack
	clock    *clock
	db       *dynamodb.Client
	handler  http.Handler
	accounts *identity.Store
	logs     *testenv.LogBuffer
	logTable string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := testenv.NewStack(t)
	env := st.Env("account")
	f := &fixture{
		stack:    st,
		clock:    testenv.NewClock(time.Now().UTC().Truncate(time.Millisecond)),
		db:       stack.DynamoDBClient(st.DynamoDBEndpoint),
		logs:     &testenv.LogBuffer{},
		logTable: st.Tables["RequestLogTable"],
	}
	// DynamoDB Local runs TTL in the background; switched off so the expired
	// items a test writes stay stored, as they may in AWS for up to two days.
	if _, err := f.db.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{TableName: &f.logTable,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expires_at"), Enabled: aws.Bool(false)}}); err != nil {
		t.Fatalf("switch TTL off: %v", err)
	}
	h, err := New(context.Background(), withClock(st.ColdstartEnv("account", f.logs, nil), f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	f.handler = h
	f.accounts = identity.NewStore(f.db, env["STATE_TABLE"], f.clock.Now)
	return f
}

// sessionPolicy is the function's default session policy.
var sessionPolicy = identity.SessionPolicy{IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour}

// account creates an active account and a session, as signup and
// verification leave them, and returns the account id and session token.
func (f *fixture) account(t *testing.T) (acctID, token string) {
	t.Helper()
	ctx := context.Background()
	id := testenv.ActiveAccount(t, f.accounts, f.clock.Now())
	_, token, err := f.accounts.CreateSession(ctx, id, sessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return id, token
}

// response is what the handler answered.
type response struct {
	status    int
	requestID string
	raw       []byte
	body      map[string]any
	problem   web.Problem
}

// do sends a request to the handler (with a bearer token unless empty),
// checks the shape of an error answer, and moves the clock one second on.
func (f *fixture) do(t *testing.T, method, target, token string) response {
	t.Helper()
	defer f.clock.Advance(time.Second)
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = "198.51.100.7:443"
	req.Header.Set("User-Agent", "logs-test/1.0")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	r := response{status: rec.Code, requestID: rec.Header().Get("X-Request-Id"), raw: rec.Body.Bytes()}
	if r.requestID == "" {
		t.Fatalf("%s %s: no X-Request-Id", method, target)
	}
	if r.status >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s: %d with Content-Type %q: %s", method, target, r.status, ct, r.raw)
		}
		dec := json.NewDecoder(bytes.NewReader(r.raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r.problem); err != nil {
			t.Fatalf("%s %s: problem does not decode: %v: %s", method, target, err, r.raw)
		}
		if r.problem.Status != r.status || r.problem.Code == "" {
			t.Fatalf("%s %s: malformed problem: %s", method, target, r.raw)
		}
		return r
	}
	if err := json.Unmarshal(r.raw, &r.body); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %s", method, target, r.status, r.raw)
	}
	return r
}

// want fails unless the answer has the status and, for an error, the code.
func (r response) want(t *testing.T, status int, code string) response {
	t.Helper()
	if r.status != status || r.problem.Code != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.status, r.problem.Code, status, code, r.raw)
	}
	return r
}

// logEntry is one item of GET /v1/logs, with every member it had.
type logEntry struct {
	RequestID string `json:"request_id"`
	Function  string `json:"function"`
	Method    string `json:"method"`
	Route     string `json:"route"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	LatencyMs int64  `json:"latency_ms"`
	Time      string `json:"time"`
	members   []string
}

// logsPage decodes a 200 answer of GET /v1/logs: its entries (with the
// members each had) and next_cursor; it fails on any other top-level member.
func logsPage(t *testing.T, r response) ([]logEntry, string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("GET /v1/logs: %d: %s", r.status, r.raw)
	}
	var body struct {
		Logs []json.RawMessage `json:"logs"`
		Next string            `json:"next_cursor"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("GET /v1/logs body: %v: %s", err, r.raw)
	}
	if body.Logs == nil {
		t.Fatalf("GET /v1/logs: no logs array: %s", r.raw)
	}
	out := make([]logEntry, len(body.Logs))
	for i, raw := range body.Logs {
		var members map[string]any
		if err := json.Unmarshal(raw, &members); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			t.Fatal(err)
		}
		for k := range members {
			out[i].members = append(out[i].members, k)
		}
	}
	return out, body.Next
}

// listAll follows next_cursor from the first page of query and returns every entry.
func (f *fixture) listAll(t *testing.T, token, query string) (all []logEntry, pages int) {
	t.Helper()
	cursor := ""
	for {
		target := "/v1/logs?" + query
		if cursor != "" {
			target += "&cursor=" + cursor
		}
		entries, next := logsPage(t, f.do(t, http.MethodGet, target, token))
		all = append(all, entries...)
		pages++
		if next == "" {
			return all, pages
		}
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
		cursor = next
	}
}

// putLog writes a request-log item of the account straight into the table.
func (f *fixture) putLog(t *testing.T, it requestlog.Item) {
	t.Helper()
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &f.logTable, Item: av}); err != nil {
		t.Fatal(err)
	}
}

// storedItems reads every request-log item of the table.
func (f *fixture) storedItems(t *testing.T) []map[string]types.AttributeValue {
	t.Helper()
	var all []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(f.db, &dynamodb.ScanInput{TableName: &f.logTable})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Items...)
	}
	return all
}

// withClock is a function's environment with the test's clock.
func withClock(e coldstart.Env, now func() time.Time) coldstart.Env {
	e.Now = now
	return e
}
