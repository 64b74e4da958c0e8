// Package cost measures what one flow of Atrium costs in AWS: the DynamoDB
// calls and the read and write request units they are charged, the Secrets
// Manager and Stripe calls, the Lambda time and the emails and log bytes a
// flow makes, priced at stated on-demand prices (see Prices).
//
// The counts come from a counting reverse proxy (Proxy) put in front of
// DynamoDB Local, the local Secrets Manager and stripe-mock: the functions
// run unchanged, pointed at the proxy through the endpoints the local stack
// gives them. Capacity units are what DynamoDB Local reports where it
// reports them (ReturnConsumedCapacity, which the proxy asks for), corrected
// to DynamoDB's documented charging where it differs (Charge). The harness
// that runs the flows is BenchmarkCostPerFlow:
//
//	go run ./infra/local/cmd/atrium-local exec -- go test -run '^$' -bench CostPerFlow -benchtime 1x ./infra/cost/
package cost

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// DynamoDB's unit sizes: a write request unit writes up to 1 KB, a read
// request unit reads up to 4 KB (strongly consistent; eventually consistent
// costs half, transactional double).
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
const (
	writeUnitBytes = 1024
	readUnitBytes  = 4096
)

// WriteUnits is what a standard write of an item of size bytes is charged:
// one unit per KB or part of one, at least one.
func WriteUnits(size int) float64 {
	return math.Max(1, math.Ceil(float64(size)/writeUnitBytes))
}

// ReadUnits is what reading size bytes is charged: one unit per 4 KB or part
// of one, at least one (an item not found, a query that returns nothing),
// halved when eventually consistent.
func ReadUnits(size int, strong bool) float64 {
	u := math.Max(1, math.Ceil(float64(size)/readUnitBytes))
	if !strong {
		u /= 2
	}
	return u
}

// ItemKind is what one item of a call does.
type ItemKind string

// The kinds of item in a call.
const (
	Put    ItemKind = "put"
	Update ItemKind = "update"
	Delete ItemKind = "delete"
	Check  ItemKind = "check" // a transaction's ConditionCheck
	Get    ItemKind = "get"
)

// Item is one item a call reads or writes. Size is its size in bytes when
// the call shows it (a put's item, an item read); 0 when it does not (an
// update or delete, whose charge follows the stored item's size).
type Item struct {
	Kind  ItemKind
	Size  int
	Found bool // for a get: the item exists
}

// Call is one DynamoDB call as the proxy saw it.
type Call struct {
	Op     string // PutItem, Query, TransactWriteItems, ...
	Table  string // the table of a single-table call ("" for a multi-table batch)
	Strong bool   // ConsistentRead
	// Items are the items written (from the request) or read (from the
	// answer); for a Query or Scan, the items returned.
	Items []Item
	// ConditionFailed: a conditional write whose condition was false
	// (ConditionalCheckFailedException), or a transaction cancelled
	// (TransactionCanceledException).
	ConditionFailed bool
	// Failed: any other error; DynamoDB charges nothing for it.
	Failed bool
	// Local is what DynamoDB Local reported (ReturnConsumedCapacity) for the
	// table itself, LocalIndex for its global secondary indexes.
	Local, LocalIndex Units
	// IndexWrites is how many global secondary index entries the call's
	// puts write (items carrying an index's key attributes), for when
	// DynamoDB Local reports no index units.
	IndexWrites int
}

// Units are read and write request units.
type Units struct {
	Read, Write float64
}

// Add returns u + v.
func (u Units) Add(v Units) Units { return Units{Read: u.Read + v.Read, Write: u.Write + v.Write} }

// Charge is what DynamoDB on demand charges for the call: DynamoDB Local's
// figure where it follows the documented rules, corrected where it does not
// (read-write-operations.html, transaction-apis.html):
//   - a transactional write is 2 units per item per KB, a transactional
//     read 2 units per item per 4 KB;
//   - a failed conditional write still consumes a write unit (1 unit: the
//     items here are under 1 KB); a cancelled transaction is charged as
//     attempted (a stated assumption: the documentation does not say);
//   - a read of nothing (a GetItem of no item, an empty Query) is charged the
//     minimum, 0.5 unit eventually consistent and 1 strongly consistent;
//   - a batch is charged per item, each rounded up on its own;
//   - sizes round up to 1 KB for writes and 4 KB for reads;
//   - writes to a global secondary index are charged like writes to the
//     table (1 unit per index entry under 1 KB), reads from one like reads.
//
// An update or delete whose item size the call does not show is charged
// max(1, what DynamoDB Local reported).
func Charge(c Call) Units {
	if c.Failed {
		return Units{}
	}
	var u Units
	switch c.Op {
	case "GetItem":
		size := 0
		for _, it := range c.Items {
			size += it.Size
		}
		u.Read = ReadUnits(size, c.Strong)
	case "Query", "Scan":
		size := 0
		for _, it := range c.Items {
			size += it.Size
		}
		// A Query is charged on the items it reads before any filter, which
		// DynamoDB Local's figure includes and the returned items may not.
		u.Read = math.Max(ReadUnits(size, c.Strong), c.Local.Read)
	case "BatchGetItem":
		for _, it := range c.Items {
			u.Read += ReadUnits(it.Size, c.Strong)
		}
	case "TransactGetItems":
		for _, it := range c.Items {
			u.Read += 2 * ReadUnits(it.Size, true)
		}
	case "PutItem", "UpdateItem", "DeleteItem":
		if c.ConditionFailed {
			u.Write = 1
			break
		}
		size := 0
		for _, it := range c.Items {
			size += it.Size
		}
		u.Write = math.Max(WriteUnits(size), c.Local.Write)
	case "BatchWriteItem":
		var sum float64
		for _, it := range c.Items {
			sum += WriteUnits(it.Size)
		}
		u.Write = math.Max(sum, c.Local.Write)
	case "TransactWriteItems":
		for _, it := range c.Items {
			u.Write += 2 * WriteUnits(it.Size)
		}
	}
	// Index units: DynamoDB Local's where it reports them, else one write
	// unit per index entry a put carries (a delete of an indexed item, whose
	// keys the call does not show, is left to Local's figure).
	idx := c.LocalIndex
	if !c.ConditionFailed && idx.Write == 0 && c.IndexWrites > 0 {
		idx.Write = float64(c.IndexWrites)
		if strings.HasPrefix(c.Op, "Transact") {
			idx.Write *= 2
		}
	}
	return u.Add(idx)
}

// ItemSize is an item's size as DynamoDB counts it: the UTF-8 lengths of
// its attribute names plus the sizes of their values, from the item in
// DynamoDB's JSON form ({"name":{"S":"..."}, ...}).
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
func ItemSize(item map[string]json.RawMessage) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

// valueSize is the size of one attribute value in DynamoDB's JSON form.
func valueSize(raw json.RawMessage) int {
	var v map[string]json.RawMessage
	if json.Unmarshal(raw, &v) != nil {
		return 0
	}
	for typ, x := range v {
		switch typ {
		case "S":
			var s string
			_ = json.Unmarshal(x, &s)
			return len(s)
		case "N":
			var s string
			_ = json.Unmarshal(x, &s)
			return numberSize(s)
		case "B":
			var s string
			_ = json.Unmarshal(x, &s)
			b, _ := base64.StdEncoding.DecodeString(s)
			return len(b)
		case "BOOL", "NULL":
			return 1
		case "SS", "BS", "NS":
			var list []string
			_ = json.Unmarshal(x, &list)
			n := 0
			for _, s := range list {
				switch typ {
				case "SS":
					n += len(s)
				case "NS":
					n += numberSize(s)
				default:
					b, _ := base64.StdEncoding.DecodeString(s)
					n += len(b)
				}
			}
			return n
		case "L":
			var list []json.RawMessage
			_ = json.Unmarshal(x, &list)
			n := 3
			for _, e := range list {
				n += 1 + valueSize(e)
			}
			return n
		case "M":
			var m map[string]json.RawMessage
			_ = json.Unmarshal(x, &m)
			n := 3
			for k, e := range m {
				n += 1 + len(k) + valueSize(e)
			}
			return n
		}
	}
	return 0
}

// numberSize approximates a number's stored size: one byte per two
// significant digits, plus one.
func numberSize(s string) int {
	digits := 0
	for _, r := range strings.TrimLeft(strings.TrimPrefix(s, "-"), "0.") {
		if r >= '0' && r <= '9' {
			digits++
		}
		if r == 'e' || r == 'E' {
			break
		}
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return 0
	}
	return (digits+1)/2 + 1
}
