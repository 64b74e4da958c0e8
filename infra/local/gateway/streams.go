package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/atrium-cdn/atrium/functions/deletion/deletionapi"
	"github.com/atrium-cdn/atrium/infra/cfn"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// StreamHandler is a function's entry point for a batch of DynamoDB stream records.
type StreamHandler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// StreamFunctions are the functions an event source mapping on a table's stream invokes, by
// logical id; template.yaml's `Type: DynamoDB` events say which stream and which records.
var StreamFunctions = []struct {
	Name      string
	LogicalID string
	New       func(context.Context, coldstart.Env) (StreamHandler, error)
}{
	{Name: "deletion", LogicalID: "DeletionFunction", New: func(ctx context.Context, env coldstart.Env) (StreamHandler, error) {
		return deletionapi.NewStream(ctx, env)
	}},
}

// PollInterval is how often each shard is read when it had nothing: Lambda polls a stream's
// shards about four times a second.
const PollInterval = 250 * time.Millisecond

// Streams plays Lambda's event source mappings locally: for every DynamoDB event in
// template.yaml it reads the table's stream in DynamoDB Local (DescribeTable, DescribeStream,
// GetShardIterator, GetRecords), turns the records into the events.DynamoDBEvent Lambda would
// deliver, keeps those the event's FilterCriteria let through, and calls the function's stream
// handler in-process, one batch at a time per shard, in order. A batch the function reports
// failed (batchItemFailures, or an error) is delivered again from the first failed record, at
// most MaximumRetryAttempts times, then skipped, as Lambda does.
type Streams struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StreamOptions say where the tables are and how to build the functions.
type StreamOptions struct {
	RepoRoot         string
	DynamoDBEndpoint string
	Tables           map[string]string // table names by logical id (stack.Stack.Tables)
	Env              func(function string) coldstart.Env
	Logger           *slog.Logger // the mappings' own lines (Lambda's side); nil: discard
}

// StartStreams builds each stream-triggered function once and polls its stream until Close.
func StartStreams(ctx context.Context, o StreamOptions) (*Streams, error) {
	tmpl, err := cfn.Load(filepath.Join(o.RepoRoot, "template.yaml"))
	if err != nil {
		return nil, err
	}
	mappings, err := tmpl.StreamEvents()
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(o.DynamoDBEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), DisableValidateResponseChecksum: true})
	streams := dynamodbstreams.New(dynamodbstreams.Options{Region: "us-east-1", BaseEndpoint: aws.String(o.DynamoDBEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	var pollers []*poller
	for _, m := range mappings {
		var build func(context.Context, coldstart.Env) (StreamHandler, error)
		var name string
		for _, fn := range StreamFunctions {
			if fn.LogicalID == m.Function {
				build, name = fn.New, fn.Name
			}
		}
		if build == nil {
			return nil, fmt.Errorf("template.yaml maps a stream to %s, which gateway.StreamFunctions does not list", m.Function)
		}
		table, ok := o.Tables[m.Table]
		if !ok {
			return nil, fmt.Errorf("%s reads the stream of %s, which the local stack did not create", m.Function, m.Table)
		}
		desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return nil, fmt.Errorf("describe table %s: %w", table, err)
		}
		if desc.Table.LatestStreamArn == nil {
			return nil, fmt.Errorf("table %s has no stream (stack.CreateTables enables the one template.yaml declares)", table)
		}
		h, err := build(ctx, o.Env(name))
		if err != nil {
			return nil, fmt.Errorf("start function %s: %w", name, err)
		}
		pollers = append(pollers, &poller{mapping: m, arn: aws.ToString(desc.Table.LatestStreamArn), client: streams,
			handler: h, logger: o.Logger.With("mapping", m.Function+"."+m.Name), shards: map[string]*shard{}})
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Streams{cancel: cancel}
	for _, p := range pollers {
		s.wg.Go(func() { p.run(runCtx) })
	}
	return s, nil
}

// Close stops polling and waits for the batches under way.
func (s *Streams) Close() {
	s.cancel()
	s.wg.Wait()
}

type poller struct {
	mapping cfn.StreamEvent
	arn     string
	client  *dynamodbstreams.Client
	handler StreamHandler
	logger  *slog.Logger
	shards  map[string]*shard
}

// shard is one shard being read: where, and how often its current batch has failed.
type shard struct {
	id       string
	iterator *string // nil once the shard is closed and read to its end
	pending  []events.DynamoDBEventRecord
	attempts int
	// retryAt is when a failed batch may be delivered again: Lambda backs
	// off between retries, so a failure that lasts a few seconds (a busy
	// machine) does not use up every attempt at once.
	retryAt time.Time
}

func (p *poller) run(ctx context.Context) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		if err := p.poll(ctx); err != nil && ctx.Err() == nil {
			p.logger.Warn("stream poll failed; trying again", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll finds new shards, then reads and delivers what each has.
func (p *poller) poll(ctx context.Context) error {
	var start *string
	for {
		out, err := p.client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.arn), ExclusiveStartShardId: start})
		if err != nil {
			return fmt.Errorf("describe stream: %w", err)
		}
		for _, sh := range out.StreamDescription.Shards {
			id := aws.ToString(sh.ShardId)
			if _, known := p.shards[id]; known {
				continue
			}
			it, err := p.iterator(ctx, id, types.ShardIteratorType(p.mapping.StartingPosition))
			if err != nil {
				return err
			}
			p.shards[id] = &shard{id: id, iterator: it}
		}
		if start = out.StreamDescription.LastEvaluatedShardId; start == nil {
			break
		}
	}
	// One shard's failure never holds up the others.
	var errs []error
	for _, sh := range p.shards {
		for {
			more, err := p.drain(ctx, sh)
			if err != nil {
				errs = append(errs, err)
				break
			}
			if !more {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (p *poller) iterator(ctx context.Context, shardID string, kind types.ShardIteratorType) (*string, error) {
	it, err := p.client.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.arn),
		ShardId: aws.String(shardID), ShardIteratorType: kind})
	if err != nil {
		return nil, fmt.Errorf("shard iterator: %w", err)
	}
	return it.ShardIterator, nil
}

// drain delivers one batch of a shard: the records left from a failed batch, or the next ones.
// more reports whether the shard may have more to deliver at once.
func (p *poller) drain(ctx context.Context, sh *shard) (more bool, err error) {
	if len(sh.pending) == 0 {
		if sh.iterator == nil {
			return false, nil
		}
		out, err := p.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: sh.iterator})
		var trimmed *types.TrimmedDataAccessException
		var expired *types.ExpiredIteratorException
		if errors.As(err, &trimmed) || errors.As(err, &expired) {
			// The iterator points where the stream no longer is (DynamoDB Local
			// says so of a fresh TRIM_HORIZON iterator at times): start again
			// from the oldest record, as Lambda does; deliveries are at least once.
			it, ierr := p.iterator(ctx, sh.id, types.ShardIteratorTypeTrimHorizon)
			if ierr != nil {
				return false, errors.Join(fmt.Errorf("get records: %w", err), ierr)
			}
			sh.iterator = it
			p.logger.Info("stream iterator restarted from the trim horizon", "shard", sh.id, "cause", err)
			out, err = p.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: sh.iterator})
		}
		if err != nil {
			return false, fmt.Errorf("get records: %w", err)
		}
		sh.iterator = out.NextShardIterator
		for _, r := range out.Records {
			rec, raw, err := lambdaRecord(r, p.arn)
			if err != nil {
				return false, err
			}
			ok, err := p.mapping.Delivers(raw)
			if err != nil {
				return false, err
			}
			if ok {
				sh.pending = append(sh.pending, rec)
			}
		}
		if len(out.Records) == 0 {
			return false, nil
		}
	}
	if len(sh.pending) == 0 {
		return true, nil
	}
	if time.Now().Before(sh.retryAt) {
		return false, nil
	}
	n := min(len(sh.pending), p.mapping.BatchSize)
	batch := sh.pending[:n]
	res, err := p.handler(ctx, events.DynamoDBEvent{Records: batch})
	failedAt := -1 // the first record to deliver again
	switch {
	case err != nil:
		failedAt = 0
		p.logger.Warn("stream batch failed", "records", n, "error", err)
	case p.mapping.ReportBatchItemFailures && len(res.BatchItemFailures) > 0:
		for i, r := range batch {
			for _, f := range res.BatchItemFailures {
				if f.ItemIdentifier == r.Change.SequenceNumber && (failedAt < 0 || i < failedAt) {
					failedAt = i
				}
			}
		}
		if failedAt < 0 {
			// An identifier that names no record fails the whole batch, in Lambda too.
			failedAt = 0
		}
	}
	if failedAt < 0 {
		sh.pending, sh.attempts = sh.pending[n:], 0
		return true, nil
	}
	sh.attempts++
	if p.mapping.MaximumRetryAttempts >= 0 && sh.attempts > p.mapping.MaximumRetryAttempts {
		p.logger.Warn("stream records given up after the retries; housekeeping resumes what they started", "records", n-failedAt)
		sh.pending, sh.attempts = sh.pending[n:], 0
		return true, nil
	}
	sh.pending = sh.pending[failedAt:]
	sh.retryAt = time.Now().Add(time.Second << (sh.attempts - 1)) // 1 s, 2 s, 4 s, …
	return false, nil                                             // again after the back-off, as Lambda retries
}

// lambdaRecord turns a stream record as GetRecords returns it into the record Lambda delivers,
// and that record's JSON (what FilterCriteria patterns are matched against).
func lambdaRecord(r types.Record, streamARN string) (events.DynamoDBEventRecord, []byte, error) {
	change := map[string]any{"SequenceNumber": aws.ToString(r.Dynamodb.SequenceNumber),
		"SizeBytes": aws.ToInt64(r.Dynamodb.SizeBytes), "StreamViewType": string(r.Dynamodb.StreamViewType)}
	if r.Dynamodb.ApproximateCreationDateTime != nil {
		change["ApproximateCreationDateTime"] = r.Dynamodb.ApproximateCreationDateTime.Unix()
	}
	for name, image := range map[string]map[string]types.AttributeValue{"Keys": r.Dynamodb.Keys,
		"NewImage": r.Dynamodb.NewImage, "OldImage": r.Dynamodb.OldImage} {
		if image != nil {
			change[name] = wireItem(image)
		}
	}
	raw, err := json.Marshal(map[string]any{"eventID": aws.ToString(r.EventID), "eventName": string(r.EventName),
		"eventVersion": aws.ToString(r.EventVersion), "eventSource": aws.ToString(r.EventSource),
		"awsRegion": aws.ToString(r.AwsRegion), "eventSourceARN": streamARN, "dynamodb": change})
	if err != nil {
		return events.DynamoDBEventRecord{}, nil, fmt.Errorf("encode stream record: %w", err)
	}
	var rec events.DynamoDBEventRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return events.DynamoDBEventRecord{}, nil, fmt.Errorf("decode stream record: %w", err)
	}
	return rec, raw, nil
}

func wireItem(item map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(item))
	for k, v := range item {
		out[k] = wire(v)
	}
	return out
}

// wire is an attribute value in DynamoDB's JSON form, as Lambda's events carry it.
func wire(v types.AttributeValue) any {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": x.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": x.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(x.Value)}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": x.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": x.Value}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": x.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": x.Value}
	case *types.AttributeValueMemberBS:
		bs := make([]string, len(x.Value))
		for i, b := range x.Value {
			bs[i] = base64.StdEncoding.EncodeToString(b)
		}
		return map[string]any{"BS": bs}
	case *types.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = wire(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": wireItem(x.Value)}
	}
	return map[string]any{"NULL": true}
}
