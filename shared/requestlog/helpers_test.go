package requestlog_test

// These tests are an external package because the local stack's helpers
// (testenv → stack → coldstart) import requestlog themselves.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/web"
)

// logTable creates a fresh stack and returns a raw client and the name of
// its request-log table (with its expiry index, as template.yaml defines it).
//
// TTL is switched off on this table: DynamoDB Local does run TTL, deleting
// expired items in the background (about 20 every 10 seconds per table),
// which would race with the counts these tests make of overdue items and
// remove the "expired but still stored" items the reader tests need. In AWS
// TTL is the safety net behind the sweep; here the sweep is what is tested.
func logTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	st := testenv.NewStack(t)
	table := st.Tables["RequestLogTable"]
	if table == "" {
		t.Fatal("the stack has no RequestLogTable")
	}
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	if _, err := db.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expires_at"), Enabled: aws.Bool(false)}}); err != nil {
		t.Fatalf("switch TTL off on %s: %v", table, err)
	}
	return db, table
}

// baseNow is a realistic "now" for the tests: the current time, in the middle
// of an hour (so that "earlier this hour" and "later this hour" both exist),
// on a whole millisecond.
func baseNow() time.Time {
	return time.Now().UTC().Truncate(time.Hour).Add(30*time.Minute + 17*time.Second + 250*time.Millisecond)
}

// reqID returns a fresh request id shaped like the middleware's.
func reqID() string { return "req_" + strings.TrimPrefix(ids.New("x"), "x_") }

// completed is a finished request of the account ("" = anonymous).
func completed(account, requestID string) web.Completed {
	return web.Completed{AccountID: account, RequestID: requestID, Function: "account", Method: "GET",
		Route: "GET /v1/account", Status: 200, Latency: 12 * time.Millisecond}
}

// itemAt is the item of a request of the account made at t.
func itemAt(account string, t time.Time) requestlog.Item {
	return requestlog.NewItem(completed(account, reqID()), t)
}

// overdueItem is an item of the account that expired at exp (it was recorded
// Retention before); its expiry shard is whatever its request id hashes to.
func overdueItem(account string, exp time.Time) requestlog.Item {
	return itemAt(account, exp.Add(-requestlog.Retention))
}

// itemInShard returns an item recorded at t whose expiry shard is shard,
// trying request ids until one hashes there.
func itemInShard(t testing.TB, account string, at time.Time, shard int) requestlog.Item {
	t.Helper()
	suffix := "#" + strconv.Itoa(shard)
	for range 10000 {
		it := itemAt(account, at)
		if strings.HasSuffix(it.ExpiryShard, suffix) {
			return it
		}
	}
	t.Fatalf("no request id hashed to shard %d in 10000 tries", shard)
	return requestlog.Item{}
}

// shardOf is the shard number of an item's expiry_shard.
func shardOf(t testing.TB, it requestlog.Item) int {
	t.Helper()
	_, s, ok := strings.Cut(it.ExpiryShard, "#")
	n, err := strconv.Atoi(s)
	if !ok || err != nil {
		t.Fatalf("expiry_shard %q is not hour#shard", it.ExpiryShard)
	}
	return n
}

// putItems writes the items with the raw client, 25 at a time, retrying
// what DynamoDB leaves unprocessed.
func putItems(t testing.TB, db *dynamodb.Client, table string, items []requestlog.Item) {
	t.Helper()
	if err := batchPut(context.Background(), db, table, items); err != nil {
		t.Fatal(err)
	}
}

func batchPut(ctx context.Context, db *dynamodb.Client, table string, items []requestlog.Item) error {
	for i := 0; i < len(items); i += 25 {
		var reqs []types.WriteRequest
		for _, it := range items[i:min(i+25, len(items))] {
			av, err := attributevalue.MarshalMap(it)
			if err != nil {
				return err
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
		}
		if err := batchWrite(ctx, db, table, reqs); err != nil {
			return err
		}
	}
	return nil
}

// batchWrite sends one batch (≤ 25) until nothing is left unprocessed.
func batchWrite(ctx context.Context, db *dynamodb.Client, table string, reqs []types.WriteRequest) error {
	for attempt := 0; len(reqs) > 0; attempt++ {
		if attempt > 20 {
			return fmt.Errorf("batch write: %d requests still unprocessed", len(reqs))
		}
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
		if err != nil {
			return fmt.Errorf("batch write: %w", err)
		}
		reqs = out.UnprocessedItems[table]
	}
	return nil
}

// scanItems reads every item of the table (the tests may scan; the sweep may not).
func scanItems(t testing.TB, db *dynamodb.Client, table string) []map[string]types.AttributeValue {
	t.Helper()
	var all []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		all = append(all, page.Items...)
	}
	return all
}

// storedLogs returns the request-log items stored (not the sweep's
// watermark), by sort key.
func storedLogs(t testing.TB, db *dynamodb.Client, table string) map[string]requestlog.Item {
	t.Helper()
	out := map[string]requestlog.Item{}
	for _, av := range scanItems(t, db, table) {
		if s, ok := av["pk"].(*types.AttributeValueMemberS); ok && s.Value == "SWEEP" {
			continue
		}
		var it requestlog.Item
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			t.Fatal(err)
		}
		out[it.PK+"|"+it.SK] = it
	}
	return out
}

func key(it requestlog.Item) string { return it.PK + "|" + it.SK }

// watermarkHour reads the sweep's watermark; ok is false when none is stored.
func watermarkHour(t testing.TB, db *dynamodb.Client, table string) (time.Time, bool) {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "SWEEP"}, "sk": &types.AttributeValueMemberS{Value: "WATERMARK"}}})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := out.Item["hour"].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		t.Fatalf("watermark hour %q", n.Value)
	}
	return time.Unix(sec, 0).UTC(), true
}

// emfLine is one Embedded Metric Format line as CloudWatch reads it.
type emfLine struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	raw map[string]any
}

// parseEMF parses one line and checks it against the format's rules: a
// millisecond timestamp, one directive in namespace Atrium with the single
// dimension Function (a string member of the line), and for every metric
// defined a numeric member of the line. It returns the metric values by name.
func parseEMF(t testing.TB, line string, function string, at time.Time) map[string]float64 {
	t.Helper()
	var l emfLine
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		t.Fatalf("metric line is not JSON: %v: %s", err, line)
	}
	if err := json.Unmarshal([]byte(line), &l.raw); err != nil {
		t.Fatal(err)
	}
	if l.AWS.Timestamp != at.UnixMilli() {
		t.Errorf("_aws.Timestamp %d, want %d (epoch ms)", l.AWS.Timestamp, at.UnixMilli())
	}
	if len(l.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("%d metric directives, want 1: %s", len(l.AWS.CloudWatchMetrics), line)
	}
	d := l.AWS.CloudWatchMetrics[0]
	if d.Namespace != "Atrium" {
		t.Errorf("namespace %q, want Atrium", d.Namespace)
	}
	if len(d.Dimensions) != 1 || !slices.Equal(d.Dimensions[0], []string{"Function"}) {
		t.Errorf("dimensions %v, want [[Function]]", d.Dimensions)
	}
	if fn, ok := l.raw["Function"].(string); !ok || fn != function {
		t.Errorf("dimension Function = %v, want %q", l.raw["Function"], function)
	}
	values := map[string]float64{}
	for _, m := range d.Metrics {
		if m.Name == "" || !validUnit(m.Unit) {
			t.Errorf("metric definition %+v: needs a name and a CloudWatch unit", m)
		}
		v, ok := l.raw[m.Name].(float64)
		if !ok {
			t.Errorf("metric %s has no numeric value in the line: %s", m.Name, line)
		}
		values[m.Name] = v
	}
	return values
}

var cloudWatchUnits = regexp.MustCompile(`^(Seconds|Microseconds|Milliseconds|Bytes|Kilobytes|Megabytes|Gigabytes|Terabytes|Bits|Kilobits|Megabits|Gigabits|Terabits|Percent|Count|Bytes/Second|Kilobytes/Second|Megabytes/Second|Gigabytes/Second|Terabytes/Second|Bits/Second|Kilobits/Second|Megabits/Second|Gigabits/Second|Terabits/Second|Count/Second|None)$`)

func validUnit(u string) bool { return cloudWatchUnits.MatchString(u) }

// lines splits text into its non-empty lines.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
