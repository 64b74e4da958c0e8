package cost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/atrium-cdn/atrium/functions/deletion/deletionapi"
	"github.com/atrium-cdn/atrium/infra/cfn"
	"github.com/atrium-cdn/atrium/infra/cost"
	"github.com/atrium-cdn/atrium/infra/local/fakes3"
	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/web"
)

// rounds is how many times each flow runs per benchmark iteration: the
// benchmark is meant to run once (-benchtime 1x), as Go runs a benchmark
// once with b.N = 1 before any larger -benchtime, which would print the
// tables twice.
var rounds = flag.Int("cost.rounds", 3, "rounds of every flow in BenchmarkCostPerFlow")

func TestMain(m *testing.M) {
	cost.RunProxyIfAsked()
	os.Exit(m.Run())
}

// sample is one run of one flow.
type sample struct {
	counters  map[string]float64
	cpu, wall time.Duration
	peakHeap  uint64
	logBytes  int64
	emails    int
}

// harness is the whole local API with every function pointed at the
// counting proxies, built in-process.
type harness struct {
	b        *testing.B
	ctx      context.Context
	remote   *cost.Remote
	stack    *stack.Stack // the functions' view: endpoints are the proxies'
	api      string
	invoked  map[string]lambda.Handler
	stream   gateway.StreamHandler
	logBytes atomic.Int64
	// fnTime is the time spent inside the functions' handlers.
	fnTime  atomic.Int64
	samples map[string][]sample
	order   []string
	fnOf    map[string]string
	httpOf  map[string]bool
	future  atomic.Int64 // housekeeping's clock, unix nanoseconds
	// recording is false for the warm-up round.
	recording bool
}

type countingWriter struct{ n *atomic.Int64 }

func (w countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

// BenchmarkCostPerFlow runs each main flow against the local stack, through
// counting proxies in front of DynamoDB Local, the local Secrets Manager and
// stripe-mock, and prints what each flow costs (see package cost):
//
//	go run ./infra/local/cmd/atrium-local exec -- go test -run '^$' -bench CostPerFlow -benchtime 1x ./infra/cost/
//
// Each round (-cost.rounds, 3 by default) runs every flow once, on two fresh accounts, after one
// unrecorded warm-up round; counts are averaged over the iterations, CPU and
// wall time are medians. With ATRIUM_COST_OUT set to a directory, the tables
// are also written to cost.md there.
func BenchmarkCostPerFlow(b *testing.B) {
	h := newHarness(b)
	defer func() { _ = h.remote.Close() }()
	// One round unrecorded first: what each function builds on its first
	// request (lazily, once per instance) is a cold start's cost, not a flow's.
	h.iteration(0)
	h.recording = true
	b.ResetTimer()
	for i := 1; i <= *rounds*b.N; i++ {
		h.iteration(i)
	}
	b.StopTimer()
	flows := h.usages()
	var out bytes.Buffer
	fmt.Fprintf(&out, "\nWhat a flow costs (%d runs each; counts are means, times medians):\n\n", *rounds*b.N)
	cost.WriteCostTable(&out, cost.USEast1, flows)
	fmt.Fprintf(&out, "\nMemory model, per function:\n\n")
	cost.WriteMemoryTable(&out, cost.USEast1, flows, cost.MemorySizes)
	fmt.Fprintf(&out, "\nCapacity units: DynamoDB Local's report and the charge (documented rules):\n\n")
	cost.WriteUnitsTable(&out, flows)
	fmt.Print(out.String())
	if dir := os.Getenv("ATRIUM_COST_OUT"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "cost.md"), out.Bytes(), 0o600)
	}
}

func newHarness(b *testing.B) *harness {
	b.Helper()
	ctx := context.Background()
	st := testenv.NewStack(b)
	// Each table's global secondary indexes, for the proxy to charge their writes.
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	indexes := map[string][]cost.Index{}
	for _, table := range st.Tables {
		d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			b.Fatal(err)
		}
		for _, g := range d.Table.GlobalSecondaryIndexes {
			ix := cost.Index{Name: aws.ToString(g.IndexName)}
			for _, k := range g.KeySchema {
				ix.Keys = append(ix.Keys, aws.ToString(k.AttributeName))
			}
			indexes[table] = append(indexes[table], ix)
		}
	}
	remote, err := cost.StartProxy(ctx, cost.ProxyConfig{DynamoDB: st.DynamoDBEndpoint, SecretsManager: st.SecretsManagerEndpoint,
		Stripe: st.StripeAPIURL, Indexes: indexes})
	if err != nil {
		b.Fatal(err)
	}
	svc := *st.Services
	svc.DynamoDBEndpoint, svc.SecretsManagerEndpoint, svc.StripeAPIURL = remote.DynamoDB, remote.SecretsManager, remote.Stripe
	counted := *st
	counted.Services = &svc
	h := &harness{b: b, ctx: ctx, remote: remote, stack: &counted, samples: map[string][]sample{},
		fnOf: map[string]string{}, httpOf: map[string]bool{}}
	h.future.Store(time.Now().Add(90*24*time.Hour + 2*time.Hour).UnixNano())
	logs := countingWriter{&h.logBytes}
	env := func(fn string) coldstart.Env {
		return counted.ColdstartEnv(fn, logs, map[string]string{
			// As template.yaml sets it.
			"LOG_LEVEL": "info",
			// Every request here comes from 127.0.0.1.
			"RATE_LIMIT_LOGIN": "100000", "RATE_LIMIT_SIGNUP": "100000",
			"RATE_LIMIT_VERIFY": "100000", "RATE_LIMIT_PASSWORD": "100000", "MAIL_CAP_PER_ADDRESS": "1000",
		})
	}
	// The HTTP functions, each timed at its boundary, routed as API Gateway routes them.
	mux := web.NewRouter(logging.New(io.Discard, slog.LevelInfo))
	for _, fn := range gateway.HTTPFunctions {
		handler, err := fn.New(ctx, env(fn.Name))
		if err != nil {
			b.Fatalf("start %s: %v", fn.Name, err)
		}
		timed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			handler.ServeHTTP(w, r)
			h.fnTime.Add(int64(time.Since(start)))
		})
		for _, route := range fn.Routes {
			mux.Mount(route, timed)
		}
	}
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	h.api = srv.URL
	h.invoked = map[string]lambda.Handler{}
	for _, fn := range gateway.InvokedFunctions {
		e := env(fn.Name)
		if fn.Name == "housekeeping" {
			// Housekeeping runs 90 days and 2 hours ahead, so that the
			// request logs the flows wrote are overdue.
			e.Now = func() time.Time { return time.Unix(0, h.future.Load()) }
		}
		handler, err := fn.New(ctx, e)
		if err != nil {
			b.Fatalf("start %s: %v", fn.Name, err)
		}
		h.invoked[fn.Name] = handler
	}
	if h.stream, err = deletionapi.NewStream(ctx, env("deletion")); err != nil {
		b.Fatal(err)
	}
	return h
}

// The function serving each flow, and the MemorySize template.yaml gives it.
func memorySizes(b *testing.B) map[string]int {
	t, err := cfn.Load(filepath.Join(testenv.RepoRoot(b), "template.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	global := 128
	if f, ok := t.Globals["Function"].(map[string]any); ok {
		if n, err := strconv.Atoi(fmt.Sprint(f["MemorySize"])); err == nil {
			global = n
		}
	}
	out := map[string]int{}
	ids := map[string]string{}
	for _, fn := range gateway.HTTPFunctions {
		ids[fn.Name] = fn.LogicalID
	}
	for _, fn := range gateway.InvokedFunctions {
		ids[fn.Name] = fn.LogicalID
	}
	ids["deletion"] = "DeletionFunction"
	for name, id := range ids {
		out[name] = global
		if n, err := strconv.Atoi(fmt.Sprint(t.Resources[id].Properties["MemorySize"])); err == nil {
			out[name] = n
		}
	}
	return out
}

func rusageCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

func heapObjects() uint64 {
	metrics.Read(heapSample)
	return heapSample[0].Value.Uint64()
}

// measure runs one flow, served by function (http: through the HTTP API),
// and records what it used; mailTo is the address whose new mail counts.
func (h *harness) measure(flow, function string, viaHTTP bool, mailTo string, run func()) {
	h.b.Helper()
	if !h.recording {
		run()
		return
	}
	if _, ok := h.fnOf[flow]; !ok {
		h.order = append(h.order, flow)
		h.fnOf[flow], h.httpOf[flow] = function, viaHTTP
	}
	mailsBefore := 0
	if mailTo != "" {
		mailsBefore = len(testenv.Mails(h.b, mailTo))
	}
	before, err := h.remote.Counters(h.ctx)
	if err != nil {
		h.b.Fatal(err)
	}
	runtime.GC()
	base := heapObjects()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			if v := heapObjects(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	logs0, fn0, cpu0, start := h.logBytes.Load(), h.fnTime.Load(), rusageCPU(), time.Now()
	run()
	wall, cpu := time.Since(start), rusageCPU()-cpu0
	if d := h.fnTime.Load() - fn0; d > 0 {
		wall = time.Duration(d)
	}
	close(stop)
	<-done
	s := sample{cpu: cpu, wall: wall, logBytes: h.logBytes.Load() - logs0}
	if p := peak.Load(); p > base {
		s.peakHeap = p - base
	}
	after, err := h.remote.Counters(h.ctx)
	if err != nil {
		h.b.Fatal(err)
	}
	s.counters = cost.Delta(before, after)
	if mailTo != "" {
		time.Sleep(100 * time.Millisecond)
		s.emails = len(testenv.Mails(h.b, mailTo)) - mailsBefore
	}
	h.samples[flow] = append(h.samples[flow], s)
}

type answer struct {
	status int
	raw    []byte
	json   map[string]any
}

func (a answer) str(path ...string) string {
	var v any = a.json
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (h *harness) do(method, path, token string, body any, header map[string]string) answer {
	h.b.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		raw, _ := json.Marshal(v)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(h.ctx, method, h.api+path, rd)
	if err != nil {
		h.b.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &a.json)
	return a
}

func (h *harness) want(what string, a answer, status int) {
	h.b.Helper()
	if a.status != status {
		h.b.Fatalf("%s: %d %s, want %d", what, a.status, a.raw, status)
	}
}

func (h *harness) invoke(function string, event any) map[string]any {
	h.b.Helper()
	payload, _ := json.Marshal(event)
	out, err := h.invoked[function].Invoke(h.ctx, payload)
	if err != nil {
		h.b.Fatalf("invoke %s: %v", function, err)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return m
}

const password = "plum-cost-harness-Harbor-91-lantern"

// signUp makes an account through the API, measuring signup and verify when
// asked, and returns its session token and id.
func (h *harness) signUp(email string, measured bool) (token, id string) {
	h.b.Helper()
	measure := func(flow string, mailTo string, run func()) {
		if measured {
			h.measure(flow, "auth", true, mailTo, run)
		} else {
			run()
		}
	}
	measure("signup", email, func() {
		h.want("signup", h.do("POST", "/v1/signup", "", map[string]string{"email": email}, nil), http.StatusAccepted)
	})
	vt := testenv.LinkToken(h.b, testenv.WaitForMails(h.b, email, 1)[0])
	var r answer
	measure("verify", email, func() {
		r = h.do("POST", "/v1/signup/verify", "", map[string]string{"token": vt, "password": password}, nil)
	})
	h.want("verify", r, http.StatusCreated)
	acct, _ := r.json["account"].(map[string]any)
	id, _ = acct["id"].(string)
	return r.str("session", "token"), id
}

func (h *harness) iteration(i int) {
	h.b.Helper()
	email := testenv.Email(h.b)
	token, acctID := h.signUp(email, true)
	var r answer
	h.measure("login", "auth", true, email, func() {
		r = h.do("POST", "/v1/login", "", map[string]string{"email": email, "password": password}, nil)
	})
	h.want("login", r, http.StatusOK)
	h.measure("account read (GET /v1/account)", "account", true, "", func() {
		r = h.do("GET", "/v1/account", token, nil, nil)
	})
	h.want("account", r, http.StatusOK)
	h.measure("request-log listing (GET /v1/logs)", "account", true, "", func() {
		r = h.do("GET", "/v1/logs", token, nil, nil)
	})
	h.want("logs", r, http.StatusOK)

	const keyID, secret = "AKIACOSTHARNESS00001", "cost-harness-secret-0123456789abcdefghij"
	bucket := fakes3.New()
	if err := bucket.CreateBucket("cost"); err != nil {
		h.b.Fatal(err)
	}
	bucket.Grant(keyID, "cost")
	s3 := httptest.NewServer(bucket)
	defer s3.Close()
	h.measure("source create", "sources", true, "", func() {
		r = h.do("POST", "/v1/sources", token, map[string]any{
			"name": "cost", "type": "s3_compatible", "bucket": "cost", "region": "us-east-1",
			"endpoint": s3.URL, "access_key_id": keyID, "secret_access_key": secret}, nil)
	})
	h.want("source", r, http.StatusCreated)
	srcID := r.str("source", "id")
	var out map[string]any
	h.measure("credentials invoke", "credentials", false, "", func() {
		out = h.invoke("credentials", map[string]string{"account_id": acctID, "source_id": srcID})
	})
	if out["secret_access_key"] != secret {
		h.b.Fatalf("credentials: %v", out["errorMessage"])
	}
	h.measure("checkout", "billing", true, "", func() {
		r = h.do("POST", "/v1/billing/checkout", token, map[string]string{"plan": "premium"}, nil)
	})
	h.want("checkout", r, http.StatusOK)
	rec, err := billing.NewStore(stack.DynamoDBClient(h.stack.DynamoDBEndpoint), h.stack.Tables["StateTable"], nil).Record(h.ctx, acctID)
	if err != nil || rec.StripeCustomerID == "" {
		h.b.Fatalf("no customer linked: %v", err)
	}
	eventID := fmt.Sprintf("evt_cost%d", time.Now().UnixNano())
	body := fmt.Sprintf(`{"id":%q,"object":"event","api_version":%q,"type":"customer.subscription.created","data":{"object":{"id":"sub_x","object":"subscription","customer":%q}}}`,
		eventID, stripe.APIVersion, rec.StripeCustomerID)
	for _, flow := range []struct{ name, outcome string }{{"Stripe webhook, applied", "applied"}, {"Stripe webhook, duplicate", "duplicate"}} {
		sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: stack.LocalWebhookSecret}).Header
		h.measure(flow.name, "stripewebhook", true, "", func() {
			r = h.do("POST", "/v1/webhooks/stripe", "", body, map[string]string{"Stripe-Signature": sig})
		})
		if r.status != http.StatusOK || r.str("outcome") != flow.outcome {
			h.b.Fatalf("%s: %d %s", flow.name, r.status, r.raw)
		}
	}

	// A second account, with a session, a source and a Stripe customer, is deleted.
	doomed := testenv.Email(h.b)
	dtoken, _ := h.signUp(doomed, false)
	h.want("source", h.do("POST", "/v1/sources", dtoken, map[string]any{
		"name": "doomed", "type": "s3_compatible", "bucket": "cost", "region": "us-east-1",
		"endpoint": s3.URL, "access_key_id": keyID, "secret_access_key": secret}, nil), http.StatusCreated)
	h.want("checkout", h.do("POST", "/v1/billing/checkout", dtoken, map[string]string{"plan": "premium"}, nil), http.StatusOK)
	h.measure("deletion accept (DELETE /v1/account)", "auth", true, doomed, func() {
		r = h.do("DELETE", "/v1/account", dtoken, map[string]string{"password": password}, nil)
	})
	h.want("delete", r, http.StatusAccepted)
	key := deletion.JobKey(r.str("deletion", "id"))
	// The record the state table's stream delivers for the accepted job
	// (template.yaml's JobAccepted filter), as Lambda would deliver it.
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
		EventName: "INSERT", EventSource: "aws:dynamodb", AWSRegion: "us-east-1",
		Change: events.DynamoDBStreamRecord{SequenceNumber: strconv.Itoa(i + 1), StreamViewType: "KEYS_ONLY",
			Keys: map[string]events.DynamoDBAttributeValue{
				statetable.PK: events.NewStringAttribute(key.PK), statetable.SK: events.NewStringAttribute(key.SK)}},
	}}}
	var res events.DynamoDBEventResponse
	h.measure("deletion run (stream)", "deletion", false, "", func() {
		res, err = h.stream(h.ctx, ev)
	})
	if err != nil || len(res.BatchItemFailures) != 0 {
		h.b.Fatalf("deletion run: %v %+v", err, res)
	}
	if st := h.do("GET", "/v1/account/deletion/"+strings.TrimPrefix(key.PK, "DELETION#"), "", nil, nil); st.str("deletion", "status") != deletion.StatusDone {
		h.b.Fatalf("deletion not done: %s", st.raw)
	}

	// Housekeeping, 90 days and 2 hours on: the sweep deletes every request
	// log written so far; a second run right after finds nothing overdue.
	h.future.Store(time.Now().Add(90*24*time.Hour + 2*time.Hour).UnixNano())
	var rep map[string]any
	h.measure("housekeeping: request-log sweep", "housekeeping", false, "", func() {
		rep = h.invoke("housekeeping", map[string]any{})
	})
	logs, _ := rep["request_logs"].(map[string]any)
	deleted, _ := logs["deleted"].(float64)
	if ss := h.samples["housekeeping: request-log sweep"]; h.recording {
		ss[len(ss)-1].counters["swept"] = deleted
	}
	h.measure("housekeeping: nothing overdue", "housekeeping", false, "", func() {
		rep = h.invoke("housekeeping", map[string]any{})
	})
}

// flowUsage is a Usage with its write units by operation.
type flowUsage struct {
	cost.Usage
	opWrite map[string]float64
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// usages turns the samples into one Usage per flow, plus the sweep's cost
// per request-log item (the sweep minus a run with nothing to do, divided
// by the items deleted).
func (h *harness) usages() []cost.Usage {
	mem := memorySizes(h.b)
	var out []cost.Usage
	byFlow := map[string]flowUsage{}
	swept := 0.0
	for _, flow := range h.order {
		ss := h.samples[flow]
		n := float64(len(ss))
		u := flowUsage{opWrite: map[string]float64{}}
		u.Usage = cost.Usage{Flow: flow, Function: h.fnOf[flow], HTTP: h.httpOf[flow], MemoryMB: mem[h.fnOf[flow]], Calls: map[string]float64{}, Invocations: 1}
		var cpus, walls []time.Duration
		for _, s := range ss {
			cpus, walls = append(cpus, s.cpu), append(walls, s.wall)
			u.PeakHeap = max(u.PeakHeap, s.peakHeap)
			u.LogBytes += float64(s.logBytes) / n
			u.Emails += float64(s.emails) / n
			for k, v := range s.counters {
				v /= n
				switch {
				case strings.HasPrefix(k, cost.KeyDDBCalls):
					u.Calls[strings.TrimPrefix(k, cost.KeyDDBCalls)] += v
					u.CallsToDynamoDB += v
				case k == cost.KeyDDBRead:
					u.Units.Read += v
				case k == cost.KeyDDBWrite:
					u.Units.Write += v
				case k == cost.KeyTableRead+h.stack.Tables["RequestLogTable"]:
					u.RequestLogUnits.Read += v
				case k == cost.KeyTableWrite+h.stack.Tables["RequestLogTable"]:
					u.RequestLogUnits.Write += v
				case strings.HasPrefix(k, cost.KeySMCalls):
					u.SecretsManager += v
				case strings.HasPrefix(k, cost.KeyStripe):
					u.Stripe += v
				case k == "swept":
					swept += v * n
				case strings.HasPrefix(k, cost.KeyOpWrite):
					u.opWrite[strings.TrimPrefix(k, cost.KeyOpWrite)] += v
				case k == cost.KeyLocalRead:
					u.LocalUnits.Read += v
				case k == cost.KeyLocalWrite:
					u.LocalUnits.Write += v
				}
			}
		}
		u.CPU, u.Wall = median(cpus), median(walls)
		byFlow[flow] = u
		out = append(out, u.Usage)
	}
	sweep := byFlow["housekeeping: request-log sweep"]
	if runs := float64(len(h.samples["housekeeping: request-log sweep"])); swept > 0 {
		swept /= runs // a run's, like the other figures
		// What one more overdue item costs the sweep: its share of the
		// BatchWriteItem deletes (the item and its index entry). The index
		// queries are the run's fixed cost (the "nothing overdue" row): at
		// production density they are shared by thousands of items.
		per := cost.Usage{Flow: fmt.Sprintf("request-log sweep, per item deleted (%.0f a run)", swept),
			Function: "housekeeping", MemoryMB: sweep.MemoryMB, Calls: map[string]float64{"BatchWriteItem": sweep.Calls["BatchWriteItem"] / swept}}
		per.CallsToDynamoDB = per.Calls["BatchWriteItem"]
		per.Units = cost.Units{Write: sweep.opWrite["BatchWriteItem"] / swept}
		per.RequestLogUnits = per.Units
		out = append(out, per)
	}
	return out
}
