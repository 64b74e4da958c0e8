package requestlog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// SweepDB is the part of DynamoDB the sweep uses.
type SweepDB interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// IndexName is the sparse expiry index: expiry_shard (hour#shard) and expires_at.
const IndexName = "ExpiryIndex"

// Sweeper deletes overdue request-log items, finding them through the expiry
// index: it reads only overdue items, never scans the table.
type Sweeper struct {
	DB          SweepDB
	Table       string
	Now         func() time.Time // the clock that decides what is overdue
	Clock       func() time.Time // the clock of the time budget (time.Now)
	Parallelism int              // concurrent BatchWriteItem calls, default 4
	// Queries bounds the index queries in flight at once, default
	// DefaultQueries: they run beside the deletes, feeding them.
	Queries int
	Sleep   func(time.Duration)
	// Lookback is where a first sweep starts (no watermark yet).
	Lookback time.Duration
	// Revisit is how far behind the watermark every run looks again: an
	// item can reach an hour the sweep has already passed (an index
	// backfill, a write dated late, a GSI that had not caught up), and the
	// watermark never moves back. Default DefaultRevisit.
	Revisit time.Duration
}

// DefaultQueries is how many index partitions a sweep reads at once.
const DefaultQueries = 16

func (s *Sweeper) queries() int {
	if s.Queries <= 0 {
		return DefaultQueries
	}
	return s.Queries
}

// DefaultRevisit is one day of expired hours behind the watermark, read
// again on every run: 24 × 16 queries of (normally empty) index partitions,
// a fraction of a second and a few hundred read units per run. An item
// reaching an hour older than that is left to DynamoDB TTL, the safety net.
const DefaultRevisit = 24 * time.Hour

// SweepReport says what one sweep did.
type SweepReport struct {
	Examined    int           `json:"examined"`     // overdue items read from the index
	Deleted     int           `json:"deleted"`      // items deleted
	LeftOverdue int           `json:"left_overdue"` // overdue items still stored at the end
	OldestAge   time.Duration `json:"-"`            // age of the oldest overdue item still stored
	OldestAgeS  float64       `json:"oldest_overdue_age_seconds"`
	Finished    bool          `json:"finished"` // false: the time budget ran out; the next run carries on
}

var watermarkKey = map[string]types.AttributeValue{
	"pk": &types.AttributeValueMemberS{Value: "SWEEP"}, "sk": &types.AttributeValueMemberS{Value: "WATERMARK"},
}

func (s *Sweeper) defaults() {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Clock == nil {
		s.Clock = time.Now
	}
	if s.Parallelism <= 0 {
		s.Parallelism = 4
	}
	if s.Sleep == nil {
		s.Sleep = time.Sleep
	}
	if s.Lookback <= 0 {
		s.Lookback = 48 * time.Hour
	}
	if s.Revisit <= 0 {
		s.Revisit = DefaultRevisit
	}
}

// Sweep deletes every item whose expires_at has passed, hour bucket by hour
// bucket from Revisit before the watermark (the oldest hour not yet known to
// be empty), and stops cleanly when the clock passes budgetEnd: the next run
// carries on. The watermark moves only over hours this run found empty, one
// after the other from where it started: an hour left with overdue items (a
// delete that failed, the budget) holds it, even when later hours are
// emptied. It is idempotent and safe to run twice at once (deleting a
// deleted item is not an error; the watermark only moves forward).
func (s *Sweeper) Sweep(ctx context.Context, budgetEnd time.Time) (SweepReport, error) {
	s.defaults()
	var r SweepReport
	now := s.Now()
	mark, marked, err := s.watermark(ctx)
	if err != nil {
		return r, err
	}
	from := now.Add(-s.Lookback).UTC().Truncate(time.Hour)
	if marked {
		from = mark.Add(-s.Revisit)
	}
	current := now.UTC().Truncate(time.Hour)
	r.Finished = true
	p := s.sweepHours(ctx, from, current, now, budgetEnd, &r)
	// left is the first hour this run has not found empty of overdue
	// items: the watermark may move up to it, never past it.
	left := from
	for left.Before(current) && p.empty(p.hourIndex(left)) {
		left = left.Add(time.Hour)
	}
	if left.After(from) && (!marked || left.After(mark)) {
		if err := s.advance(ctx, left); err != nil {
			return r, errors.Join(p.err, err)
		}
	}
	if p.err != nil {
		return r, p.err
	}
	return r, s.measureLeft(ctx, now, left, &r, p)
}

// pass is what one sweep learnt of the shard-hours it read: index
// hour*Shards+shard, hours counted from the first.
type pass struct {
	from     time.Time
	hours    int
	read     []bool // the shard-hour's overdue items were all read
	failed   []int  // of which this many could not be deleted
	finished bool   // every shard-hour was read (no budget stop, no error)
	err      error
}

func (p *pass) hourIndex(h time.Time) int { return int(h.Sub(p.from) / time.Hour) }

// empty reports whether the run left the hour empty of overdue items.
func (p *pass) empty(hour int) bool {
	for shard := range Shards {
		if !p.clean(hour, shard) {
			return false
		}
	}
	return true
}

// clean reports whether the run read the shard-hour whole and deleted all
// it read (false for an hour outside the run).
func (p *pass) clean(hour, shard int) bool {
	i := hour*Shards + shard
	return hour >= 0 && hour < p.hours && p.read[i] && p.failed[i] == 0
}

// sweepKey is an overdue item's key, with the shard-hour it was read from.
type sweepKey struct {
	key       map[string]types.AttributeValue
	shardHour int
}

// sweepHours deletes the overdue items of the hours from..current as one
// pipeline: the shard-hours are read in order, oldest first, up to Queries
// at once, and their keys flow through a small buffer to Parallelism
// deleters that send full batches of 25, whatever shard-hours they come
// from; the queries never wait for the deletes of an earlier hour. Memory
// stays bounded however many items the hours hold. Keys read are always
// sent once, past the budget too (a retry is not), so that what the report
// counts as examined was tried.
func (s *Sweeper) sweepHours(ctx context.Context, from, current, now, budgetEnd time.Time, r *SweepReport) *pass {
	p := &pass{from: from, hours: int(current.Sub(from)/time.Hour) + 1, finished: true}
	p.read, p.failed = make([]bool, p.hours*Shards), make([]int, p.hours*Shards)
	keys := make(chan sweepKey, 25*s.Parallelism)
	var (
		mu                sync.Mutex
		examined, deleted int
	)
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return p.err != nil
	}
	var deleters sync.WaitGroup
	for range s.Parallelism {
		deleters.Go(func() {
			batch := make([]sweepKey, 0, 25)
			flush := func() {
				d, left := s.deleteBatch(ctx, batch, budgetEnd)
				mu.Lock()
				deleted += d
				for _, k := range left {
					p.failed[k.shardHour]++
				}
				mu.Unlock()
				batch = batch[:0]
			}
			for k := range keys {
				if batch = append(batch, k); len(batch) == 25 {
					flush()
				}
			}
			if len(batch) > 0 {
				flush()
			}
		})
	}
	var queries sync.WaitGroup
	slots := make(chan struct{}, s.queries())
	for i := range p.hours * Shards {
		if s.Clock().After(budgetEnd) || stop() {
			break
		}
		slots <- struct{}{}
		bucket := hourBucket(from.Add(time.Duration(i/Shards)*time.Hour)) + "#" + strconv.Itoa(i%Shards)
		queries.Go(func() {
			defer func() { <-slots }()
			n, done, err := s.queryShard(ctx, bucket, i, now, budgetEnd, keys)
			mu.Lock()
			defer mu.Unlock()
			examined += n
			p.read[i] = done
			if err != nil && p.err == nil {
				p.err = err
			}
		})
	}
	queries.Wait()
	close(keys)
	deleters.Wait()
	r.Examined += examined
	r.Deleted += deleted
	for _, read := range p.read {
		p.finished = p.finished && read
	}
	if !p.finished && p.err == nil {
		r.Finished = false // only the budget stops a pass that met no error
	}
	return p
}

// queryShard streams the keys of one index partition's overdue items into
// keys; done reports that it read them all (not stopped by the budget).
func (s *Sweeper) queryShard(ctx context.Context, bucket string, shardHour int, now, budgetEnd time.Time,
	keys chan<- sweepKey) (n int, done bool, err error) {
	e, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("expiry_shard").Equal(expression.Value(bucket)).
			And(expression.Key("expires_at").LessThanEqual(expression.Value(now.Unix())))).Build()
	if err != nil {
		return 0, false, fmt.Errorf("build sweep query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.Table), IndexName: aws.String(IndexName),
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ProjectionExpression: aws.String("pk, sk"),
	}
	for {
		if s.Clock().After(budgetEnd) {
			return n, false, nil
		}
		out, err := s.DB.Query(ctx, in)
		if err != nil {
			return n, false, fmt.Errorf("query expiry index: %w", err)
		}
		for _, item := range out.Items {
			keys <- sweepKey{key: item, shardHour: shardHour}
		}
		n += len(out.Items)
		if out.LastEvaluatedKey == nil {
			return n, true, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Backoff of UnprocessedItems retries: exponential with full jitter.
const (
	backoffBase = 25 * time.Millisecond
	backoffCap  = time.Second
	maxRetries  = 10
)

// deleteBatch deletes up to 25 items and returns those it could not.
func (s *Sweeper) deleteBatch(ctx context.Context, batch []sweepKey, budgetEnd time.Time) (deleted int, left []sweepKey) {
	keys := make([]map[string]types.AttributeValue, len(batch))
	for i, k := range batch {
		keys[i] = k.key
	}
	deleted, rest := deleteKeys(ctx, s.DB, s.Table, keys, s.Sleep, func() bool { return s.Clock().After(budgetEnd) })
	if len(rest) == 0 {
		return deleted, nil
	}
	undeleted := map[string]bool{}
	for _, w := range rest {
		undeleted[keyString(w.DeleteRequest.Key)] = true
	}
	for _, k := range batch {
		if undeleted[keyString(k.key)] {
			left = append(left, k)
		}
	}
	return deleted, left
}

// keyString is an item's key as one string.
func keyString(k map[string]types.AttributeValue) string {
	pk, _ := k["pk"].(*types.AttributeValueMemberS)
	sk, _ := k["sk"].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "\x00" + sk.Value
}

// batchWriter is the part of DynamoDB that deletes items in batches.
type batchWriter interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// deleteKeys deletes up to 25 items by key, retrying what DynamoDB leaves
// unprocessed (or a batch refused whole) with jittered backoff, until all
// are gone, the retries run out or stop says to stop; it returns the
// requests left.
func deleteKeys(ctx context.Context, db batchWriter, table string, keys []map[string]types.AttributeValue,
	sleep func(time.Duration), stop func() bool) (deleted int, left []types.WriteRequest) {
	pending := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		pending[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{"pk": k["pk"], "sk": k["sk"]}}}
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if attempt > maxRetries || stop() {
				break
			}
			sleep(rand.N(min(backoffCap, backoffBase<<attempt)) + time.Millisecond) // #nosec G404 -- jitter, not a secret
		}
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: pending}})
		if err != nil {
			continue // throttled as a whole: back off and try the same batch again
		}
		rest := out.UnprocessedItems[table]
		deleted += len(pending) - len(rest)
		pending = rest
	}
	return deleted, pending
}

// watermark reads the stored watermark; ok is false when there is none.
func (s *Sweeper) watermark(ctx context.Context) (hour time.Time, ok bool, err error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: watermarkKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read sweep watermark: %w", err)
	}
	if n, ok := out.Item["hour"].(*types.AttributeValueMemberN); ok {
		if sec, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return time.Unix(sec, 0).UTC().Truncate(time.Hour), true, nil
		}
	}
	return time.Time{}, false, nil
}

// advance moves the watermark forward only (two sweeps at once never move it back).
func (s *Sweeper) advance(ctx context.Context, hour time.Time) error {
	e, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("hour")).
		Or(expression.Name("hour").LessThan(expression.Value(hour.Unix())))).Build()
	if err != nil {
		return fmt.Errorf("build watermark condition: %w", err)
	}
	item := map[string]types.AttributeValue{"hour": &types.AttributeValueMemberN{Value: strconv.FormatInt(hour.Unix(), 10)}}
	for k, v := range watermarkKey {
		item[k] = v
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item,
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("move sweep watermark: %w", err)
	}
	return nil
}

// measureHours bounds how many hours measureLeft counts (16 queries each).
const measureHours = 24

// measureLeft counts the overdue items still stored from start (the first
// hour the run did not empty) on (at most measureHours hours: a lower bound beyond), and the age
// of the oldest, which lies in the first hour that has any. A shard-hour
// the run read whole and deleted all of is known empty: it is not read again.
func (s *Sweeper) measureLeft(ctx context.Context, now, start time.Time, r *SweepReport, p *pass) error {
	var oldest int64
	end := now.UTC().Truncate(time.Hour)
	for h, n := start, 0; !h.After(end) && n < measureHours; h, n = h.Add(time.Hour), n+1 {
		// Every shard of the first hour that has any holds candidates for the oldest.
		seeking := oldest == 0
		for shard := range Shards {
			if p.clean(p.hourIndex(h), shard) {
				continue
			}
			bucket := hourBucket(h) + "#" + strconv.Itoa(shard)
			count, first, err := s.overdue(ctx, bucket, now, seeking)
			if err != nil {
				return err
			}
			r.LeftOverdue += count
			if first != 0 && (oldest == 0 || first < oldest) {
				oldest = first
			}
		}
	}
	if oldest != 0 {
		r.OldestAge = now.Sub(time.Unix(oldest, 0))
		r.OldestAgeS = r.OldestAge.Seconds()
	}
	return nil
}

// overdue counts a shard's overdue items and, if asked, finds the earliest expiry.
func (s *Sweeper) overdue(ctx context.Context, bucket string, now time.Time, earliest bool) (int, int64, error) {
	e, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("expiry_shard").Equal(expression.Value(bucket)).
			And(expression.Key("expires_at").LessThanEqual(expression.Value(now.Unix())))).Build()
	if err != nil {
		return 0, 0, fmt.Errorf("build overdue query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.Table), IndexName: aws.String(IndexName), Select: types.SelectCount,
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}
	count := 0
	for {
		out, err := s.DB.Query(ctx, in)
		if err != nil {
			return 0, 0, fmt.Errorf("count overdue: %w", err)
		}
		count += int(out.Count)
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if count == 0 || !earliest {
		return count, 0, nil
	}
	in.Select, in.Limit, in.ExclusiveStartKey = types.SelectAllProjectedAttributes, aws.Int32(1), nil
	out, err := s.DB.Query(ctx, in)
	if err != nil || len(out.Items) == 0 {
		return count, 0, err
	}
	if n, ok := out.Items[0]["expires_at"].(*types.AttributeValueMemberN); ok {
		v, _ := strconv.ParseInt(n.Value, 10, 64)
		return count, v, nil
	}
	return count, 0, nil
}
