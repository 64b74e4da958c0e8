package requestlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/web"
)

// The personal data and credentials a request carries, none of which may
// reach a request-log item (P6).
const (
	piiEmailQuery  = "alice.query@example.com"
	piiEmailBody   = "bob.body@example.org"
	piiPassword    = "Hunter2-Correct-Horse"
	piiToken       = "sess_TOKENvalue1234567890abcdef"
	piiCookie      = "cookieSECRETvalue987"
	piiUserAgent   = "Mozilla/5.0 (PIIAgent; Linux) Gecko/20100101"
	piiRemoteIP    = "198.51.100.23"
	piiForwardedIP = "203.0.113.77"
	piiIPv6        = "2001:db8::beef"
	piiPathID      = "src_PATHidentifier42"
	piiQueryToken  = "qtok_QUERYsecret555"
	piiAPIKey      = "AKIAABCDEFGHIJKLMNOP"
)

var piiValues = []string{piiEmailQuery, piiEmailBody, piiPassword, piiToken, piiCookie, piiUserAgent,
	piiRemoteIP, piiForwardedIP, piiIPv6, piiPathID, piiQueryToken, piiAPIKey}

// requestLogAttributes are the only attributes an item may hold (code only
// for an error response).
var requestLogAttributes = []string{"pk", "sk", "request_id", "function", "method", "route", "status", "code",
	"latency_ms", "time", "expires_at", "expiry_shard"}

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	ipv4Pattern  = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	shardPattern = regexp.MustCompile(`^([0-9]{10})#([0-9]|1[0-5])$`)
	skPattern    = regexp.MustCompile(`^([0-9]{13})#(.+)$`)
)

// piiRequest is a request carrying every kind of personal data and
// credential, in the path, the query, the headers, the peer address and the body.
func piiRequest(method, path string) *http.Request {
	body := fmt.Sprintf(`{"email":%q,"password":%q,"access_key_id":%q}`, piiEmailBody, piiPassword, piiAPIKey)
	r := httptest.NewRequest(method, path+"?email="+piiEmailQuery+"&token="+piiQueryToken, strings.NewReader(body))
	r.RemoteAddr = piiRemoteIP + ":51515"
	r.Header.Set("User-Agent", piiUserAgent)
	r.Header.Set("X-Forwarded-For", piiForwardedIP+", "+piiIPv6)
	r.Header.Set("Authorization", "Bearer "+piiToken)
	r.Header.Set("Cookie", "__Host-atrium_session="+piiCookie)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// serveCompleted runs the request through the shared request path in front
// of a router with a few routes, and returns what OnComplete was told.
func serveCompleted(t *testing.T, r *http.Request) web.Completed {
	t.Helper()
	logger := logging.New(io.Discard, slog.LevelInfo)
	rt := web.NewRouter(logger)
	echo := func(w http.ResponseWriter, r *http.Request) error {
		b, _ := io.ReadAll(r.Body) // the handler sees the body; the log must not
		web.SetAccountID(r.Context(), "acct_PIIOWNER")
		web.WriteJSON(w, http.StatusOK, map[string]string{"echo": string(b), "ua": r.UserAgent(), "q": r.URL.RawQuery})
		return nil
	}
	rt.Handle("POST /v1/sources/{id}", echo)
	rt.Handle("PUT /v1/sources/{id}", func(w http.ResponseWriter, r *http.Request) error {
		web.SetAccountID(r.Context(), "acct_PIIOWNER")
		return web.Invalid(web.FieldError{Field: "email", Code: "invalid_email", Detail: "bad " + piiEmailBody})
	})
	rt.Handle("DELETE /v1/sources/{id}", func(w http.ResponseWriter, r *http.Request) error {
		panic("boom with " + piiEmailBody + " " + piiToken)
	})
	var (
		mu   sync.Mutex
		got  []web.Completed
		wrap = web.Wrap(rt, web.Options{Logger: logger, Function: "sources",
			OnComplete: func(_ *http.Request, c web.Completed) { mu.Lock(); got = append(got, c); mu.Unlock() }})
	)
	wrap.ServeHTTP(httptest.NewRecorder(), r)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("OnComplete called %d times, want 1", len(got))
	}
	return got[0]
}

// itemText is every attribute name and value of a marshalled item, as text.
func itemText(item map[string]types.AttributeValue) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(item)) {
		b.WriteString(k + "=")
		switch v := item[k].(type) {
		case *types.AttributeValueMemberS:
			b.WriteString(v.Value)
		case *types.AttributeValueMemberN:
			b.WriteString(v.Value)
		default:
			fmt.Fprintf(&b, "%T", v) // no other type is expected; checkItemShape fails on it
		}
		b.WriteString("\n")
	}
	return b.String()
}

// checkItemShape proves that a stored or marshalled item holds exactly the
// request-log attributes, with the values NewItem promises for c at t, and
// none of the request's personal data.
func checkItemShape(t *testing.T, item map[string]types.AttributeValue, c web.Completed, at time.Time) {
	t.Helper()
	want := slices.DeleteFunc(slices.Clone(requestLogAttributes), func(k string) bool { return k == "code" && c.Code == "" })
	if got := slices.Sorted(maps.Keys(item)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("attributes %v, want exactly %v", got, slices.Sorted(slices.Values(want)))
	}
	for k, v := range item {
		switch k {
		case "status", "latency_ms", "expires_at":
			if _, ok := v.(*types.AttributeValueMemberN); !ok {
				t.Errorf("%s is %T, want a number", k, v)
			}
		default:
			if _, ok := v.(*types.AttributeValueMemberS); !ok {
				t.Errorf("%s is %T, want a string", k, v)
			}
		}
	}
	var it requestlog.Item
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		t.Fatal(err)
	}
	exp := at.Add(requestlog.Retention)
	wantPK := "ACCOUNT#" + c.AccountID
	if c.AccountID == "" {
		wantPK = "ANONYMOUS#" + at.UTC().Format("20060102")
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"pk", it.PK, wantPK},
		{"sk", it.SK, fmt.Sprintf("%013d#%s", at.UnixMilli(), c.RequestID)},
		{"request_id", it.RequestID, c.RequestID},
		{"function", it.Function, c.Function},
		{"method", it.Method, c.Method},
		{"route", it.Route, requestlog.RoutePath(c.Route)},
		{"status", it.Status, c.Status},
		{"code", it.Code, c.Code},
		{"latency_ms", it.LatencyMs, c.Latency.Milliseconds()},
		{"time", it.Time, at.UTC().Format(time.RFC3339Nano)},
		{"expires_at", it.ExpiresAt, exp.Unix()},
		{"expires_at - time", time.Unix(it.ExpiresAt, 0).Sub(at.Truncate(time.Second)), 90 * 24 * time.Hour},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	m := shardPattern.FindStringSubmatch(it.ExpiryShard)
	if m == nil {
		t.Errorf("expiry_shard %q is not HOUR#0..15", it.ExpiryShard)
	} else if m[1] != exp.UTC().Format("2006010215") {
		t.Errorf("expiry_shard hour %s, want the hour of expires_at %s", m[1], exp.UTC().Format("2006010215"))
	}
	text := itemText(item)
	for _, v := range piiValues {
		if strings.Contains(text, v) {
			t.Errorf("the item holds %q:\n%s", v, text)
		}
	}
	if emailPattern.MatchString(text) || ipv4Pattern.MatchString(text) || strings.Contains(text, "?") {
		t.Errorf("the item holds an address or a query string:\n%s", text)
	}
}

// TestNewItemHoldsOnlyTheAllowedFields builds web.Completed from requests
// that carry an email (query and body), a password, a bearer token, a cookie,
// a user agent, IP addresses (peer and X-Forwarded-For), an identifier in the
// path and an access key in the body, through the real request path, and
// proves that the item NewItem makes from it — and the one the Recorder
// stores in DynamoDB — holds exactly the request-log attributes with the
// promised values (pk, sk, expires_at = time + 90 days, expiry_shard = hour
// of expires_at # 0..15) and none of that data.
func TestNewItemHoldsOnlyTheAllowedFields(t *testing.T) {
	db, table := logTable(t)
	at := baseNow().Add(-3 * time.Hour).Add(123 * time.Millisecond)
	tests := []struct {
		name       string
		req        *http.Request
		wantRoute  string
		itemRoute  string // the route the item names: the pattern's path, as the API documents it
		wantStatus int
		wantCode   string
		account    bool
	}{
		{name: "authenticated success", req: piiRequest(http.MethodPost, "/v1/sources/"+piiPathID),
			wantRoute: "POST /v1/sources/{id}", itemRoute: "/v1/sources/{id}", wantStatus: 200, account: true},
		{name: "authenticated validation error", req: piiRequest(http.MethodPut, "/v1/sources/"+piiPathID),
			wantRoute: "PUT /v1/sources/{id}", itemRoute: "/v1/sources/{id}", wantStatus: 400, wantCode: "validation_failed", account: true},
		{name: "panic", req: piiRequest(http.MethodDelete, "/v1/sources/"+piiPathID),
			wantRoute: "DELETE /v1/sources/{id}", itemRoute: "/v1/sources/{id}", wantStatus: 500, wantCode: "internal_error"},
		{name: "unmatched path, anonymous", req: piiRequest(http.MethodGet, "/v1/"+piiEmailQuery+"/"+piiPathID),
			wantRoute: "unmatched", itemRoute: "unmatched", wantStatus: 404, wantCode: "not_found"},
		{name: "wrong method", req: piiRequest(http.MethodPatch, "/v1/sources/"+piiPathID),
			wantRoute: "unmatched", itemRoute: "unmatched", wantStatus: 405, wantCode: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serveCompleted(t, tt.req)
			if c.Route != tt.wantRoute || c.Status != tt.wantStatus || c.Code != tt.wantCode || c.Function != "sources" {
				t.Fatalf("completed %+v, want route %q status %d code %q", c, tt.wantRoute, tt.wantStatus, tt.wantCode)
			}
			if (c.AccountID != "") != tt.account {
				t.Fatalf("account id %q, want authenticated=%v", c.AccountID, tt.account)
			}
			c.Latency = 1234567 * time.Microsecond // a fixed latency, so latency_ms is known (1234)

			t.Run("NewItem", func(t *testing.T) {
				item, err := attributevalue.MarshalMap(requestlog.NewItem(c, at))
				if err != nil {
					t.Fatal(err)
				}
				checkItemShape(t, item, c, at)
				if got := requestlog.NewItem(c, at).Route; got != tt.itemRoute {
					t.Errorf("item route %q, want %q", got, tt.itemRoute)
				}
			})
			t.Run("Recorder", func(t *testing.T) {
				var logs, metrics bytes.Buffer
				rec := requestlog.NewRecorder(db, table, "atrium-sources", func() time.Time { return at },
					logging.New(&logs, slog.LevelDebug), &metrics)
				rec.Record(context.Background(), c)
				if logs.Len() != 0 || metrics.Len() != 0 {
					t.Errorf("a successful write logged %q and metrics %q", logs.String(), metrics.String())
				}
				it := requestlog.NewItem(c, at)
				out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
					Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: it.PK}, "sk": &types.AttributeValueMemberS{Value: it.SK}}})
				if err != nil {
					t.Fatal(err)
				}
				if out.Item == nil {
					t.Fatal("the recorder stored no item")
				}
				checkItemShape(t, out.Item, c, at)
			})
		})
	}
}

// TestNewItemExpiry covers the expiry fields over times across hour and day
// boundaries, and proves that request ids spread one hour's items over all
// 16 shards.
func TestNewItemExpiry(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
	}{
		{"mid hour", time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)},
		{"last millisecond of an hour", time.Date(2026, 3, 4, 10, 59, 59, 999e6, time.UTC)},
		{"first instant of a day", time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"non-UTC zone", time.Date(2026, 7, 1, 23, 45, 0, 0, time.FixedZone("UTC+5", 5*3600))},
		{"leap day", time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shards := map[int]bool{}
			for range 400 {
				c := completed("acct_EXPIRY", reqID())
				it := requestlog.NewItem(c, tt.at)
				exp := tt.at.Add(90 * 24 * time.Hour)
				if it.ExpiresAt != exp.Unix() {
					t.Fatalf("expires_at %d, want %d", it.ExpiresAt, exp.Unix())
				}
				m := shardPattern.FindStringSubmatch(it.ExpiryShard)
				if m == nil || m[1] != exp.UTC().Format("2006010215") {
					t.Fatalf("expiry_shard %q, want %s#0..15", it.ExpiryShard, exp.UTC().Format("2006010215"))
				}
				if it.Time != tt.at.UTC().Format(time.RFC3339Nano) || !strings.HasSuffix(it.Time, "Z") {
					t.Fatalf("time %q, want %q (UTC)", it.Time, tt.at.UTC().Format(time.RFC3339Nano))
				}
				if m := skPattern.FindStringSubmatch(it.SK); m == nil || m[2] != c.RequestID {
					t.Fatalf("sk %q", it.SK)
				}
				// The same request always lands in the same shard.
				if again := requestlog.NewItem(c, tt.at); again.ExpiryShard != it.ExpiryShard {
					t.Fatalf("shard not deterministic: %q then %q", it.ExpiryShard, again.ExpiryShard)
				}
				shards[shardOf(t, it)] = true
			}
			if len(shards) != requestlog.Shards || requestlog.Shards != 16 {
				t.Errorf("400 request ids used %d shards, want all %d", len(shards), requestlog.Shards)
			}
		})
	}
}

// failingPutter fails every PutItem, or blocks until the call's context ends.
type failingPutter struct {
	block bool
	mu    sync.Mutex
	calls int
	// deadline of the last call's context
	deadline time.Time
	hadDL    bool
}

var errPutFailed = errors.New("ProvisionedThroughputExceededException: injected")

func (p *failingPutter) PutItem(ctx context.Context, _ *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	p.mu.Lock()
	p.calls++
	p.deadline, p.hadDL = ctx.Deadline()
	p.mu.Unlock()
	if p.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, errPutFailed
}

// TestRecorderWriteFailure proves that a failed log write never fails or
// panics the request: Record returns, logs one warning (with the request id,
// no personal data) and writes one EMF line RequestLogWriteFailures = 1 in
// namespace Atrium with the dimension Function — and that a write that hangs
// is cut off by the recorder's own timeout, even when the request's context
// has no deadline, and before a Lambda invocation's deadline when it has one.
func TestRecorderWriteFailure(t *testing.T) {
	at := baseNow()
	tests := []struct {
		name     string
		block    bool
		maxWait  time.Duration
		timeout  time.Duration // the recorder's write timeout, when shortened
		deadline time.Duration // of the request's context, when it has one
	}{
		{name: "error", maxWait: time.Second},
		{name: "hangs until the write timeout", block: true, maxWait: 5 * time.Second, timeout: time.Second},
		{name: "hangs until shortly before the invocation's deadline", block: true, maxWait: 5 * time.Second,
			deadline: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := &failingPutter{block: tt.block}
			var logs, metrics testenv.LogBuffer
			rec := requestlog.NewRecorder(db, "no-such-table", "atrium-account-fn", func() time.Time { return at },
				logging.New(&logs, slog.LevelDebug), &metrics)
			if tt.timeout > 0 {
				requestlog.SetWriteTimeout(rec, tt.timeout)
			}
			c := serveCompleted(t, piiRequest(http.MethodPost, "/v1/sources/"+piiPathID))
			ctx := logging.WithRequestID(context.Background(), c.RequestID)
			var deadline time.Time
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				deadline = time.Now().Add(tt.deadline)
				ctx, cancel = context.WithDeadline(ctx, deadline)
				defer cancel()
			}
			start := time.Now()
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Fatalf("Record panicked: %v", v)
					}
				}()
				rec.Record(ctx, c)
			}()
			if d := time.Since(start); d > tt.maxWait {
				t.Errorf("Record took %v, want at most %v", d, tt.maxWait)
			}
			if db.calls != 1 {
				t.Errorf("%d PutItem calls, want 1", db.calls)
			}
			if !db.hadDL || db.deadline.After(time.Now().Add(requestlog.WriteTimeout)) {
				t.Errorf("the write had no bounded deadline (had %v, %v)", db.hadDL, db.deadline)
			}
			if !deadline.IsZero() && !db.deadline.Before(deadline) {
				t.Errorf("the write's deadline %v is not before the invocation's %v", db.deadline, deadline)
			}

			logLines := lines(logs.String())
			if len(logLines) != 1 {
				t.Fatalf("%d log lines, want 1 warning: %q", len(logLines), logs.String())
			}
			var entry map[string]any
			if err := json.Unmarshal([]byte(logLines[0]), &entry); err != nil {
				t.Fatalf("log line is not JSON: %s", logLines[0])
			}
			if entry["level"] != "WARN" || !strings.Contains(fmt.Sprint(entry["msg"]), "request log") {
				t.Errorf("log line %s, want a WARN about the request log", logLines[0])
			}
			if !strings.Contains(logLines[0], c.RequestID) {
				t.Errorf("the warning does not carry the request id: %s", logLines[0])
			}
			for _, v := range piiValues {
				if strings.Contains(logs.String()+metrics.String(), v) {
					t.Errorf("the failure's log or metric holds %q", v)
				}
			}

			metricLines := lines(metrics.String())
			if len(metricLines) != 1 {
				t.Fatalf("%d metric lines, want 1: %q", len(metricLines), metrics.String())
			}
			values := parseEMF(t, metricLines[0], "atrium-account-fn", at)
			if len(values) != 1 || values["RequestLogWriteFailures"] != 1 {
				t.Errorf("metrics %v, want RequestLogWriteFailures = 1", values)
			}
		})
	}
}

// TestRecorderWritesAfterTheRequestContextEnds: the request's context may be
// cancelled by the time the request completes (the client went away); the
// item is written all the same.
func TestRecorderWritesAfterTheRequestContextEnds(t *testing.T) {
	db, table := logTable(t)
	at := baseNow()
	var logs bytes.Buffer
	rec := requestlog.NewRecorder(db, table, "account", func() time.Time { return at }, logging.New(&logs, slog.LevelDebug), io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := completed("acct_GONE", reqID())
	rec.Record(ctx, c)
	if logs.Len() != 0 {
		t.Errorf("logged %s", logs.String())
	}
	stored := storedLogs(t, db, table)
	if _, ok := stored[key(requestlog.NewItem(c, at))]; !ok || len(stored) != 1 {
		t.Errorf("stored %d items, want the one of the cancelled request", len(stored))
	}
}

// TestEmitMetrics checks the Embedded Metric Format lines of the sweep's metrics.
func TestEmitMetrics(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 123e6, time.UTC)
	tests := []struct {
		name    string
		metrics []requestlog.Metric
	}{
		{"one count", []requestlog.Metric{{Name: "RequestLogWriteFailures", Unit: "Count", Value: 1}}},
		{"the sweep's three", []requestlog.Metric{
			{Name: "RequestLogsDeleted", Unit: "Count", Value: 12345},
			{Name: "RequestLogsOverdue", Unit: "Count", Value: 0},
			{Name: "OldestOverdueRequestLogAge", Unit: "Seconds", Value: 3600.5},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			requestlog.EmitMetrics(&buf, at, "atrium-housekeeping", tt.metrics...)
			l := lines(buf.String())
			if len(l) != 1 {
				t.Fatalf("%d lines, want 1: %q", len(l), buf.String())
			}
			got := parseEMF(t, l[0], "atrium-housekeeping", at)
			if len(got) != len(tt.metrics) {
				t.Errorf("%d metrics, want %d", len(got), len(tt.metrics))
			}
			for _, m := range tt.metrics {
				if v, ok := got[m.Name]; !ok || v != m.Value {
					t.Errorf("%s = %v, want %v", m.Name, v, m.Value)
				}
			}
		})
	}
	requestlog.EmitMetrics(nil, at, "x", requestlog.Metric{Name: "A", Unit: "Count", Value: 1}) // no writer: no panic
}

// TestEveryFinishedRequestIsRecordedUnderABurst sends bursts of concurrent
// requests through the shared request path with the recorder as its
// OnComplete, over DynamoDB Local — some of them cancelled by the client
// the moment their handler returns — and proves that every request's item
// is stored, and nothing was logged or counted as a failed write.
func TestEveryFinishedRequestIsRecordedUnderABurst(t *testing.T) {
	db, table := logTable(t)
	for _, tt := range []struct {
		name     string
		requests int
		cancel   bool // the client goes away as the handler returns
	}{
		{"one request, cancelled as its handler returns", 1, true},
		{"a burst of 200", 200, false},
		{"a burst of 200, every one cancelled as its handler returns", 200, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs, metrics := &testenv.LogBuffer{}, &testenv.LogBuffer{}
			logger := logging.New(logs, slog.LevelInfo)
			rec := requestlog.NewRecorder(db, table, "atrium-account", nil, logger, metrics)
			account := "acct_BURST" + strings.ToUpper(reqID()[4:14])
			rt := web.NewRouter(logger)
			rt.Handle("GET /v1/account", func(w http.ResponseWriter, r *http.Request) error {
				web.SetAccountID(r.Context(), account)
				web.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
				if cancel, ok := r.Context().Value(cancelKey{}).(context.CancelFunc); ok {
					cancel()
				}
				return nil
			})
			h := web.Wrap(rt, web.Options{Logger: logger, Function: "account",
				OnComplete: func(r *http.Request, c web.Completed) { rec.Record(r.Context(), c) }})
			ids := make([]string, tt.requests)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Go(func() {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					if tt.cancel {
						ctx = context.WithValue(ctx, cancelKey{}, cancel)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/account", nil).WithContext(ctx))
					if w.Code != http.StatusOK {
						t.Errorf("request %d: %d %s", i, w.Code, w.Body)
					}
					ids[i] = w.Header().Get("X-Request-Id")
				})
			}
			wg.Wait()
			stored := map[string]bool{}
			for _, it := range storedLogs(t, db, table) {
				if it.PK == "ACCOUNT#"+account {
					stored[it.RequestID] = true
				}
			}
			missing := 0
			for _, id := range ids {
				if !stored[id] {
					missing++
				}
			}
			if missing > 0 || len(stored) != tt.requests {
				t.Errorf("%d of %d requests have no item (%d stored); failures: %.3000s", missing, tt.requests, len(stored), metrics.String()+failures(logs.String()))
			}
			if strings.Contains(logs.String(), "request log not written") || strings.Contains(metrics.String(), "RequestLogWriteFailures") {
				t.Errorf("writes failed: %.2000s", failures(logs.String()))
			}
		})
	}
}

// cancelKey carries the request's cancel func to the test's handler.
type cancelKey struct{}

// failures are the log lines that are not the access log's.
func failures(logs string) string {
	var out []string
	for _, l := range lines(logs) {
		if !strings.Contains(l, `"msg":"request"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
