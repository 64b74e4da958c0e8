// Package requestlog keeps one item per API request for debugging and
// security (promise P6): which account, function, route, status, error code
// and latency — never an email, IP address, user agent, token, credential,
// query string or body. Items live in their own table for 90 days; reads
// never return an expired item, and a scheduled sweep deletes overdue items
// through a sharded expiry index (DynamoDB TTL is only the safety net).
package requestlog

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/shared/web"
)

// Retention is how long a request log is kept, then deleted.
const Retention = 90 * 24 * time.Hour

// Shards spread one hour's expiring items over this many index partitions.
const Shards = 16

// Item is one request-log item as stored.
type Item struct {
	PK          string `dynamodbav:"pk" json:"-"`
	SK          string `dynamodbav:"sk" json:"-"`
	RequestID   string `dynamodbav:"request_id" json:"request_id"`
	Function    string `dynamodbav:"function" json:"function"`
	Method      string `dynamodbav:"method" json:"method"`
	Route       string `dynamodbav:"route" json:"route"`
	Status      int    `dynamodbav:"status" json:"status"`
	Code        string `dynamodbav:"code,omitempty" json:"code,omitempty"`
	LatencyMs   int64  `dynamodbav:"latency_ms" json:"latency_ms"`
	Time        string `dynamodbav:"time" json:"time"`
	ExpiresAt   int64  `dynamodbav:"expires_at" json:"-"`
	ExpiryShard string `dynamodbav:"expiry_shard" json:"-"`
}

// partition of an account's items; anonymous requests are kept per day.
func partition(accountID string, t time.Time) string {
	if accountID == "" {
		return "ANONYMOUS#" + t.UTC().Format("20060102")
	}
	return "ACCOUNT#" + accountID
}

// sortKey orders an account's items by time, newest last.
func sortKey(t time.Time, requestID string) string {
	return fmt.Sprintf("%013d#%s", t.UnixMilli(), requestID)
}

// expiryShard names the index partition of an item expiring at exp:
// its expiry hour and a shard chosen by the request id.
func expiryShard(exp time.Time, requestID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(requestID))
	return hourBucket(exp) + "#" + strconv.Itoa(int(h.Sum32()%Shards))
}

func hourBucket(t time.Time) string { return t.UTC().Format("2006010215") }

// NewItem builds the item recording a finished request at t.
func NewItem(c web.Completed, t time.Time) Item {
	exp := t.Add(Retention)
	return Item{
		PK: partition(c.AccountID, t), SK: sortKey(t, c.RequestID),
		RequestID: c.RequestID, Function: c.Function, Method: c.Method, Route: RoutePath(c.Route), Status: c.Status,
		Code: c.Code, LatencyMs: c.Latency.Milliseconds(), Time: t.UTC().Format(time.RFC3339Nano),
		ExpiresAt: exp.Unix(), ExpiryShard: expiryShard(exp, c.RequestID),
	}
}

// RoutePath is the route an item names: the pattern's path, without the
// method the item names on its own ("GET /v1/sources/{id}" is
// "/v1/sources/{id}"), as the API documents it; "unmatched" stays.
func RoutePath(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// Putter is the one DynamoDB call the recorder makes.
type Putter interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Recorder writes request-log items. A failed write never fails the
// customer's request: it is logged and counted as a CloudWatch metric.
type Recorder struct {
	db      Putter
	table   string
	now     func() time.Time
	logger  *slog.Logger
	metrics io.Writer // Embedded Metric Format lines
	fn      string
	timeout time.Duration // writeTimeout; tests shorten it
	retryer aws.Retryer
}

// NewRecorder returns a Recorder for one function; now may be nil.
func NewRecorder(db Putter, table, function string, now func() time.Time, logger *slog.Logger, metrics io.Writer) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{db: db, table: table, now: now, logger: logger, metrics: metrics, fn: function,
		timeout: writeTimeout, retryer: newWriteRetryer()}
}

// A finished request's item is written within writeTimeout, retries
// included, whatever became of the request's own context (the client went
// away, or its deadline passed: it is finished either way). In Lambda the
// write also ends deadlineMargin before the invocation's deadline, so that
// the response still leaves, but is given at least minWriteTimeout.
const (
	writeTimeout    = 8 * time.Second
	deadlineMargin  = 500 * time.Millisecond
	minWriteTimeout = 500 * time.Millisecond
)

// Retries of a write: the SDK's standard retryer (throttling, 5xx, broken
// connections, with jittered backoff) with more attempts than its default
// three, bounded by writeTimeout, and without the client-wide retry quota: a
// burst of throttled log writes must not use it up, which would leave every
// later call of the function (and these writes) without retries at all.
const (
	writeAttempts   = 8
	writeMaxBackoff = time.Second
)

func newWriteRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts, o.MaxBackoff, o.RateLimiter = writeAttempts, writeMaxBackoff, ratelimit.None
	})
}

// writeContext is the context of the write of a request that ran in ctx.
func (rec *Recorder) writeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := rec.timeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(d)-deadlineMargin, minWriteTimeout))
	}
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}

// Record writes the item of a finished request. It is web.Options.OnComplete.
func (rec *Recorder) Record(ctx context.Context, c web.Completed) {
	item, err := attributevalue.MarshalMap(NewItem(c, rec.now()))
	if err == nil {
		wctx, cancel := rec.writeContext(ctx)
		defer cancel()
		_, err = rec.db.PutItem(wctx, &dynamodb.PutItemInput{TableName: aws.String(rec.table), Item: item},
			func(o *dynamodb.Options) { o.Retryer = rec.retryer })
	}
	if err != nil {
		rec.logger.WarnContext(ctx, "request log not written", "error", err)
		EmitMetrics(rec.metrics, rec.now(), rec.fn, Metric{Name: "RequestLogWriteFailures", Unit: "Count", Value: 1})
	}
}
