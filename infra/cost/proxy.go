package cost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Counters are named running totals, safe for concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]float64
}

// Add adds v to the counter named key.
func (c *Counters) Add(key string, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]float64{}
	}
	c.m[key] += v
}

// Snapshot is a copy of every counter.
func (c *Counters) Snapshot() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// Delta is after − before, counter by counter.
func Delta(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// Counter names. DynamoDB's carry the operation ("ddb.calls.PutItem") or
// the table ("ddb.wru.table.<name>").
// #nosec G101 -- counter names, not credentials
const (
	KeyDDBCalls   = "ddb.calls."
	KeyDDBRead    = "ddb.rru"
	KeyDDBWrite   = "ddb.wru"
	KeyTableRead  = "ddb.rru.table."
	KeyTableWrite = "ddb.wru.table."
	KeyLocalRead  = "ddb.local.rru" // as DynamoDB Local reported, for comparison
	KeyLocalWrite = "ddb.local.wru"
	KeyOpRead     = "ddb.rru.op."
	KeyOpWrite    = "ddb.wru.op."
	KeySMCalls    = "sm.calls."
	KeyStripe     = "stripe.calls."
)

// Index is a global secondary index: its name and key attributes.
type Index struct {
	Name string
	Keys []string
}

// Proxy forwards to one local service and counts what goes through.
type Proxy struct {
	Service  string // "dynamodb", "secretsmanager" or "stripe"
	Upstream *url.URL
	Counters *Counters
	// Indexes are each table's global secondary indexes (DynamoDB only).
	Indexes map[string][]Index
	Client  *http.Client
}

// capacityOps are the operations that take ReturnConsumedCapacity.
var capacityOps = map[string]bool{
	"GetItem": true, "PutItem": true, "UpdateItem": true, "DeleteItem": true, "Query": true, "Scan": true,
	"BatchGetItem": true, "BatchWriteItem": true, "TransactGetItems": true, "TransactWriteItems": true,
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read request", http.StatusBadGateway)
		return
	}
	var op string
	var req map[string]json.RawMessage
	switch p.Service {
	case "dynamodb":
		op = target(r)
		if json.Unmarshal(body, &req) == nil && capacityOps[op] {
			// DynamoDB Local does not check signatures: the rewritten body
			// goes through. The functions never read ConsumedCapacity.
			req["ReturnConsumedCapacity"] = json.RawMessage(`"INDEXES"`)
			body, _ = json.Marshal(req)
		}
	case "secretsmanager":
		p.Counters.Add(KeySMCalls+target(r), 1)
	case "stripe":
		p.Counters.Add(KeyStripe+r.Method+" "+stripePath(r.URL.Path), 1)
	}
	// The request goes to the one local service this proxy stands before,
	// at the path it asked for.
	up := *p.Upstream
	up.Path, up.RawPath = r.URL.Path, r.URL.RawPath
	out, err := http.NewRequestWithContext(r.Context(), r.Method, up.String(), bytes.NewReader(body)) // #nosec G704 -- the configured local upstream
	if err != nil {
		http.Error(w, "build request", http.StatusBadGateway)
		return
	}
	out.URL.RawQuery = r.URL.RawQuery
	out.Header = r.Header.Clone()
	out.Header.Del("Content-Length")
	out.ContentLength = int64(len(body))
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(out) // #nosec G704 -- the configured local upstream
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, "read upstream", http.StatusBadGateway)
		return
	}
	if p.Service == "dynamodb" {
		p.countDynamoDB(op, req, resp.StatusCode, respBody)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
}

// target is the operation an AWS JSON-protocol request names in X-Amz-Target
// ("DynamoDB_20120810.PutItem" → "PutItem").
func target(r *http.Request) string {
	t := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// stripePath is a Stripe API path with its object ids folded away
// ("/v1/customers/cus_123" → "/v1/customers/{id}").
func stripePath(path string) string {
	parts := strings.Split(path, "/")
	for i, s := range parts {
		if i > 2 && s != "" {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

func (p *Proxy) countDynamoDB(op string, req map[string]json.RawMessage, status int, respBody []byte) {
	p.Counters.Add(KeyDDBCalls+op, 1)
	if !capacityOps[op] {
		return
	}
	calls := ParseCall(op, req, status, respBody, p.Indexes)
	for _, c := range calls {
		u := Charge(c)
		p.Counters.Add(KeyDDBRead, u.Read)
		p.Counters.Add(KeyDDBWrite, u.Write)
		p.Counters.Add(KeyTableRead+c.Table, u.Read)
		p.Counters.Add(KeyTableWrite+c.Table, u.Write)
		p.Counters.Add(KeyOpRead+c.Op, u.Read)
		p.Counters.Add(KeyOpWrite+c.Op, u.Write)
		p.Counters.Add(KeyLocalRead, c.Local.Read+c.LocalIndex.Read)
		p.Counters.Add(KeyLocalWrite, c.Local.Write+c.LocalIndex.Write)
	}
}

// consumed is DynamoDB's ConsumedCapacity for one table.
type consumed struct {
	TableName          string
	CapacityUnits      float64
	ReadCapacityUnits  float64
	WriteCapacityUnits float64
	Table              *struct {
		CapacityUnits, ReadCapacityUnits, WriteCapacityUnits float64
	}
	GlobalSecondaryIndexes map[string]struct {
		CapacityUnits, ReadCapacityUnits, WriteCapacityUnits float64
	}
}

// split returns the table's units and its indexes' units; isWrite says how
// to read a bare CapacityUnits.
func (c consumed) split(isWrite bool) (table, index Units) {
	as := func(total, r, w float64) Units {
		if r == 0 && w == 0 {
			if isWrite {
				return Units{Write: total}
			}
			return Units{Read: total}
		}
		return Units{Read: r, Write: w}
	}
	for _, g := range c.GlobalSecondaryIndexes {
		index = index.Add(as(g.CapacityUnits, g.ReadCapacityUnits, g.WriteCapacityUnits))
	}
	if c.Table != nil {
		return as(c.Table.CapacityUnits, c.Table.ReadCapacityUnits, c.Table.WriteCapacityUnits), index
	}
	all := as(c.CapacityUnits, c.ReadCapacityUnits, c.WriteCapacityUnits)
	return Units{Read: all.Read - index.Read, Write: all.Write - index.Write}, index
}

// ParseCall reads one DynamoDB request and its answer into the calls to
// charge, one per table.
func ParseCall(op string, req map[string]json.RawMessage, status int, respBody []byte, indexes map[string][]Index) []Call {
	var resp struct {
		Type             string          `json:"__type"`
		ConsumedCapacity json.RawMessage `json:"ConsumedCapacity"`
		Item             map[string]json.RawMessage
		Items            []map[string]json.RawMessage
		Responses        json.RawMessage
	}
	_ = json.Unmarshal(respBody, &resp)
	isWrite := strings.Contains(op, "Write") || op == "PutItem" || op == "UpdateItem" || op == "DeleteItem"
	base := Call{Op: op}
	if status != http.StatusOK {
		switch {
		case strings.HasSuffix(resp.Type, "ConditionalCheckFailedException"), strings.HasSuffix(resp.Type, "TransactionCanceledException"):
			base.ConditionFailed = true
		default:
			base.Failed = true
		}
	}
	var local []consumed
	if len(resp.ConsumedCapacity) > 0 {
		if resp.ConsumedCapacity[0] == '[' {
			_ = json.Unmarshal(resp.ConsumedCapacity, &local)
		} else {
			var one consumed
			_ = json.Unmarshal(resp.ConsumedCapacity, &one)
			local = []consumed{one}
		}
	}
	localFor := func(table string) (Units, Units) {
		var t, i Units
		for _, c := range local {
			if c.TableName == table || table == "" {
				ct, ci := c.split(isWrite)
				t, i = t.Add(ct), i.Add(ci)
			}
		}
		return t, i
	}
	str := func(raw json.RawMessage) string {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	boolean := func(raw json.RawMessage) bool {
		var b bool
		_ = json.Unmarshal(raw, &b)
		return b
	}
	indexWrites := func(table string, item map[string]json.RawMessage) int {
		n := 0
		for _, ix := range indexes[table] {
			all := true
			for _, k := range ix.Keys {
				if _, ok := item[k]; !ok {
					all = false
				}
			}
			if all {
				n++
			}
		}
		return n
	}
	switch op {
	case "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan":
		c := base
		c.Table = str(req["TableName"])
		c.Strong = boolean(req["ConsistentRead"])
		c.Local, c.LocalIndex = localFor(c.Table)
		switch op {
		case "GetItem":
			if resp.Item != nil {
				c.Items = []Item{{Kind: Get, Size: ItemSize(resp.Item), Found: true}}
			}
		case "Query", "Scan":
			for _, it := range resp.Items {
				c.Items = append(c.Items, Item{Kind: Get, Size: ItemSize(it), Found: true})
			}
		case "PutItem":
			var item map[string]json.RawMessage
			_ = json.Unmarshal(req["Item"], &item)
			c.Items = []Item{{Kind: Put, Size: ItemSize(item)}}
			c.IndexWrites = indexWrites(c.Table, item)
		case "UpdateItem":
			c.Items = []Item{{Kind: Update}}
		case "DeleteItem":
			c.Items = []Item{{Kind: Delete}}
		}
		return []Call{c}
	case "BatchWriteItem":
		var items map[string][]struct {
			PutRequest    *struct{ Item map[string]json.RawMessage }
			DeleteRequest *struct{ Key map[string]json.RawMessage }
		}
		_ = json.Unmarshal(req["RequestItems"], &items)
		var out []Call
		for table, reqs := range items {
			c := base
			c.Table = table
			c.Local, c.LocalIndex = localFor(table)
			for _, r := range reqs {
				switch {
				case r.PutRequest != nil:
					c.Items = append(c.Items, Item{Kind: Put, Size: ItemSize(r.PutRequest.Item)})
					c.IndexWrites += indexWrites(table, r.PutRequest.Item)
				case r.DeleteRequest != nil:
					c.Items = append(c.Items, Item{Kind: Delete})
				}
			}
			out = append(out, c)
		}
		return out
	case "BatchGetItem":
		var keys map[string]struct {
			Keys           []map[string]json.RawMessage
			ConsistentRead bool
		}
		_ = json.Unmarshal(req["RequestItems"], &keys)
		var got map[string][]map[string]json.RawMessage
		_ = json.Unmarshal(resp.Responses, &got)
		var out []Call
		for table, k := range keys {
			c := base
			c.Table, c.Strong = table, k.ConsistentRead
			c.Local, c.LocalIndex = localFor(table)
			for _, it := range got[table] {
				c.Items = append(c.Items, Item{Kind: Get, Size: ItemSize(it), Found: true})
			}
			for range len(k.Keys) - len(got[table]) {
				c.Items = append(c.Items, Item{Kind: Get})
			}
			out = append(out, c)
		}
		return out
	case "TransactWriteItems", "TransactGetItems":
		var items []map[string]struct {
			TableName string
			Item      map[string]json.RawMessage
		}
		_ = json.Unmarshal(req["TransactItems"], &items)
		var got []struct{ Item map[string]json.RawMessage }
		_ = json.Unmarshal(resp.Responses, &got)
		byTable := map[string]*Call{}
		var order []string
		for i, wrapper := range items {
			for kind, it := range wrapper {
				c, ok := byTable[it.TableName]
				if !ok {
					nc := base
					nc.Table = it.TableName
					nc.Local, nc.LocalIndex = localFor(it.TableName)
					c = &nc
					byTable[it.TableName] = c
					order = append(order, it.TableName)
				}
				switch kind {
				case "Put":
					c.Items = append(c.Items, Item{Kind: Put, Size: ItemSize(it.Item)})
					c.IndexWrites += indexWrites(it.TableName, it.Item)
				case "Update":
					c.Items = append(c.Items, Item{Kind: Update})
				case "Delete":
					c.Items = append(c.Items, Item{Kind: Delete})
				case "ConditionCheck":
					c.Items = append(c.Items, Item{Kind: Check})
				case "Get":
					size := 0
					if i < len(got) {
						size = ItemSize(got[i].Item)
					}
					c.Items = append(c.Items, Item{Kind: Get, Size: size})
				}
			}
		}
		var out []Call
		for _, t := range order {
			out = append(out, *byTable[t])
		}
		return out
	}
	return []Call{{Op: op, Failed: true}}
}

// String is a short description, for debugging.
func (c Call) String() string {
	return fmt.Sprintf("%s %s items=%d failed=%v cond=%v local=%v idx=%v", c.Op, c.Table, len(c.Items), c.Failed, c.ConditionFailed, c.Local, c.LocalIndex)
}
