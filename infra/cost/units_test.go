package cost

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestCharge(t *testing.T) {
	put := func(size int) Item { return Item{Kind: Put, Size: size} }
	for _, tc := range []struct {
		name string
		call Call
		want Units
	}{
		{"get, eventually consistent, 3.5 KB", Call{Op: "GetItem", Items: []Item{{Kind: Get, Size: 3500, Found: true}}}, Units{Read: 0.5}},
		{"get, strong, 10 KB rounds to 12", Call{Op: "GetItem", Strong: true, Items: []Item{{Kind: Get, Size: 10 * 1024, Found: true}}}, Units{Read: 3}},
		{"get of no item, eventually consistent", Call{Op: "GetItem"}, Units{Read: 0.5}},
		{"get of no item, strong", Call{Op: "GetItem", Strong: true}, Units{Read: 1}},
		{"empty query, eventually consistent", Call{Op: "Query"}, Units{Read: 0.5}},
		{"empty query, strong", Call{Op: "Query", Strong: true}, Units{Read: 1}},
		{"query sums its items before rounding", Call{Op: "Query", Items: []Item{put(3000), put(3000)}}, Units{Read: 1}},
		{"query: Local's figure when higher (a filter)", Call{Op: "Query", Local: Units{Read: 4}}, Units{Read: 4}},
		{"batch get rounds each item", Call{Op: "BatchGetItem", Strong: true, Items: []Item{{Size: 1536}, {Size: 6656}}}, Units{Read: 3}},
		{"transactional get: 2 per 4 KB", Call{Op: "TransactGetItems", Items: []Item{{Size: 100}, {Size: 5000}}}, Units{Read: 6}},
		{"put 1.5 KB rounds to 2", Call{Op: "PutItem", Items: []Item{put(1536)}}, Units{Write: 2}},
		{"put 1 KB exactly", Call{Op: "PutItem", Items: []Item{put(1024)}}, Units{Write: 1}},
		{"failed conditional put still 1", Call{Op: "PutItem", ConditionFailed: true, Items: []Item{put(3000)}}, Units{Write: 1}},
		{"failed conditional update still 1", Call{Op: "UpdateItem", ConditionFailed: true, Items: []Item{{Kind: Update}}}, Units{Write: 1}},
		{"update: Local's figure (the stored item's size)", Call{Op: "UpdateItem", Items: []Item{{Kind: Update}}, Local: Units{Write: 3}}, Units{Write: 3}},
		{"update: at least 1", Call{Op: "UpdateItem", Items: []Item{{Kind: Update}}}, Units{Write: 1}},
		{"any other error: nothing", Call{Op: "PutItem", Failed: true, Items: []Item{put(100)}}, Units{}},
		{"transactional write: 2 per item per KB", Call{Op: "TransactWriteItems", Items: []Item{put(100), {Kind: Update}, {Kind: Check}, put(2048)}, Local: Units{Write: 4}}, Units{Write: 2 + 2 + 2 + 4}},
		{"cancelled transaction charged as attempted", Call{Op: "TransactWriteItems", ConditionFailed: true, Items: []Item{put(100), {Kind: Update}}}, Units{Write: 4}},
		{"batch write per item", Call{Op: "BatchWriteItem", Items: []Item{put(100), put(1500), {Kind: Delete}}}, Units{Write: 4}},
		{"put with an index entry, Local silent", Call{Op: "PutItem", Items: []Item{put(200)}, IndexWrites: 1}, Units{Write: 2}},
		{"put with an index entry, Local's index figure", Call{Op: "PutItem", Items: []Item{put(200)}, IndexWrites: 1, LocalIndex: Units{Write: 1}}, Units{Write: 2}},
		{"transactional put with an index entry", Call{Op: "TransactWriteItems", Items: []Item{put(200)}, IndexWrites: 1}, Units{Write: 4}},
		{"failed conditional put writes no index entry", Call{Op: "PutItem", ConditionFailed: true, Items: []Item{put(200)}, IndexWrites: 1}, Units{Write: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Charge(tc.call); got != tc.want {
				t.Fatalf("Charge = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestItemSize(t *testing.T) {
	for _, tc := range []struct {
		item string
		want int
	}{
		{`{"pk":{"S":"ACCOUNT#abc"}}`, 2 + 11},
		{`{"n":{"N":"12345"}}`, 1 + 4},
		{`{"ok":{"BOOL":true},"x":{"NULL":true}}`, 2 + 1 + 1 + 1},
		{`{"b":{"B":"AAEC"}}`, 1 + 3},
		{`{"l":{"L":[{"S":"ab"},{"N":"1"}]}}`, 1 + 3 + (1 + 2) + (1 + 2)},
		{`{"m":{"M":{"k":{"S":"v"}}}}`, 1 + 3 + 1 + 1 + 1},
		{`{"ss":{"SS":["a","bc"]}}`, 2 + 3},
	} {
		var item map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tc.item), &item); err != nil {
			t.Fatal(err)
		}
		if got := ItemSize(item); got != tc.want {
			t.Errorf("ItemSize(%s) = %d, want %d", tc.item, got, tc.want)
		}
	}
}

func TestParseCall(t *testing.T) {
	req := func(s string) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	idx := map[string][]Index{"logs": {{Name: "ExpiryIndex", Keys: []string{"expiry_shard", "expires_at"}}}}
	// A request-log put: the table's unit and its index entry's.
	calls := ParseCall("PutItem", req(`{"TableName":"logs","Item":{"pk":{"S":"a"},"expiry_shard":{"S":"h#1"},"expires_at":{"N":"1"}}}`),
		200, []byte(`{"ConsumedCapacity":{"TableName":"logs","CapacityUnits":1}}`), idx)
	if len(calls) != 1 || Charge(calls[0]) != (Units{Write: 2}) {
		t.Fatalf("request-log put: %v → %+v", calls, Charge(calls[0]))
	}
	// A failed condition is a 400 that still costs a unit.
	calls = ParseCall("UpdateItem", req(`{"TableName":"state"}`), 400,
		[]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}`), nil)
	if Charge(calls[0]) != (Units{Write: 1}) {
		t.Fatalf("failed condition: %v", calls)
	}
	// A transaction over two tables, Local reporting 1 unit an item.
	calls = ParseCall("TransactWriteItems", req(`{"TransactItems":[{"Put":{"TableName":"state","Item":{"pk":{"S":"a"}}}},{"Update":{"TableName":"state"}},{"ConditionCheck":{"TableName":"other"}}]}`),
		200, []byte(`{"ConsumedCapacity":[{"TableName":"state","CapacityUnits":2},{"TableName":"other","CapacityUnits":1}]}`), nil)
	var total Units
	for _, c := range calls {
		total = total.Add(Charge(c))
	}
	if total != (Units{Write: 6}) {
		t.Fatalf("transaction: %v → %+v, want 6 WRU", calls, total)
	}
	// An empty eventually consistent query.
	calls = ParseCall("Query", req(`{"TableName":"state"}`), 200, []byte(`{"Count":0,"Items":[],"ConsumedCapacity":{"TableName":"state","CapacityUnits":0}}`), nil)
	if Charge(calls[0]) != (Units{Read: 0.5}) {
		t.Fatalf("empty query: %+v", Charge(calls[0]))
	}
}

func TestLambdaModel(t *testing.T) {
	for _, tc := range []struct {
		mb    int
		share float64
	}{{128, 128.0 / 1769}, {256, 256.0 / 1769}, {1769, 1}, {3008, 1}} {
		if got := CPUShare(tc.mb); math.Abs(got-tc.share) > 1e-12 {
			t.Errorf("CPUShare(%d) = %v, want %v", tc.mb, got, tc.share)
		}
	}
	// 40 ms of CPU at 256 MB: 40 / (256/1769) = 276.4 ms, plus 10 ms waiting.
	d := Duration(40*time.Millisecond, 10*time.Millisecond, 256)
	if want := time.Duration(float64(40*time.Millisecond)*1769/256) + 10*time.Millisecond; d != want {
		t.Fatalf("Duration = %v, want %v", d, want)
	}
	// Billed per started millisecond: 286.4 ms → 287 ms; at 512 MB that is 0.1435 GB-s.
	if got := GBSeconds(286400*time.Microsecond, 512); math.Abs(got-0.1435) > 1e-12 {
		t.Fatalf("GBSeconds = %v, want 0.1435", got)
	}
}

func TestPerMillion(t *testing.T) {
	u := Usage{
		HTTP: true, Invocations: 1,
		Units:           Units{Read: 2, Write: 4},
		RequestLogUnits: Units{Write: 2},
		SecretsManager:  1, Emails: 1,
		CPU: 0, Wall: 99 * time.Millisecond, // 99 ms of waiting at any memory
		LogBytes: 1 << 10,
	}
	b := u.PerMillion(USEast1, 1024)
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("DynamoDB", b.DynamoDB, 4*0.625+2*0.125)
	near("RequestLog", b.RequestLog, 2*0.625)
	// 0.099 s × 1 GB × $0.0000133334 × 1e6 + $0.20.
	near("Lambda", b.Lambda, 0.099*0.0000133334*1e6+0.20)
	near("SecretsManager", b.SecretsManager, 5)
	near("APIGateway", b.APIGateway, 1)
	near("Logs", b.Logs, 1e6*1024/(1<<30)*0.50)
	near("Email", b.Email, 100)
	near("Total", b.Total(), b.DynamoDB+b.Lambda+5+1+b.Logs+100)
	// Not through the HTTP API: no API Gateway charge.
	u.HTTP = false
	if b := u.PerMillion(USEast1, 1024); b.APIGateway != 0 {
		t.Errorf("APIGateway without HTTP = %v", b.APIGateway)
	}
}
