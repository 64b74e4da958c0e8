package runner

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// A job starts when it is accepted: the state table's stream (keys only)
// delivers the INSERT of the job's item to the deletion function, through an
// event source mapping filtered to those records (template.yaml,
// DeletionFunction's JobAccepted event). Anything else the stream carries is
// not a new job and is ignored here too. Each record runs its job under the
// job's lease, so a record delivered twice, a retried batch, or housekeeping
// resuming the same job at the same moment does no work twice.

// streamMargin is what HandleStream leaves of the invocation's time: a
// record it cannot start before then is reported failed, for Lambda to
// deliver again, rather than cut off mid-step.
const streamMargin = 5 * time.Second

// JobInserted returns the id of the deletion job whose acceptance the stream
// record reports: an INSERT of a job's item. ok is false for every other
// record (a change to a job, any other item).
func JobInserted(rec events.DynamoDBEventRecord) (id string, ok bool) {
	if rec.EventName != string(events.DynamoDBOperationTypeInsert) {
		return "", false
	}
	pk, sk := keyString(rec.Change.Keys[statetable.PK]), keyString(rec.Change.Keys[statetable.SK])
	prefix := deletion.JobKey("").PK
	id, found := strings.CutPrefix(pk, prefix)
	if !found || !ids.Valid(deletion.IDPrefix, id) || deletion.JobKey(id) != (statetable.Key{PK: pk, SK: sk}) {
		return "", false
	}
	return id, true
}

// keyString is a key attribute's string value, "" when it is not a string.
func keyString(v events.DynamoDBAttributeValue) string {
	if v.DataType() != events.DataTypeString {
		return ""
	}
	return v.String()
}

// HandleStream runs the deletion job of each record that reports one being
// accepted, in order. A job another run holds (ErrBusy) or already done
// counts as handled; a job that failed part-way is reported in
// BatchItemFailures, so that Lambda delivers its record again (and
// housekeeping resumes it if the retries run out). It returns an error only
// for a batch it cannot read at all.
func (r *Runner) HandleStream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	out := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	for i, rec := range ev.Records {
		if rec.Change.SequenceNumber == "" {
			return out, errors.New("deletion stream: a record without a sequence number")
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < streamMargin || ctx.Err() != nil {
			for _, left := range ev.Records[i:] {
				out.BatchItemFailures = append(out.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: left.Change.SequenceNumber})
			}
			r.Logger.WarnContext(ctx, "deletion stream: out of time; records left for redelivery", "records", len(ev.Records)-i)
			return out, nil
		}
		id, ok := JobInserted(rec)
		if !ok {
			r.Logger.DebugContext(ctx, "deletion stream: not a new job", "event", rec.EventName)
			continue
		}
		job, err := r.Run(ctx, id)
		switch {
		case err == nil:
			r.Logger.InfoContext(ctx, "deletion started by the stream", "deletion_id", id, "status", job.Status)
		case errors.Is(err, ErrBusy):
			r.Logger.InfoContext(ctx, "deletion stream: the job is held by another run", "deletion_id", id)
		case errors.Is(err, deletion.ErrNotFound):
			// Nothing to retry: the job is gone (its receipt expired).
			r.Logger.WarnContext(ctx, "deletion stream: no such job", "deletion_id", id)
		default:
			r.Logger.WarnContext(ctx, "deletion stream: the job will be delivered again", "deletion_id", id, "error", err)
			out.BatchItemFailures = append(out.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
		}
	}
	return out, nil
}
