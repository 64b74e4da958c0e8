package runner_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76"

	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/deletion/runner"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// record is a stream record as the state table's stream (keys only) delivers it.
func record(seq int, name events.DynamoDBOperationType, k statetable.Key) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: string(name), EventSource: "aws:dynamodb", EventVersion: "1.1",
		AWSRegion: "us-east-1", EventID: fmt.Sprintf("ev%d", seq),
		Change: events.DynamoDBStreamRecord{SequenceNumber: fmt.Sprintf("%021d", seq), StreamViewType: "KEYS_ONLY",
			Keys: map[string]events.DynamoDBAttributeValue{
				statetable.PK: events.NewStringAttribute(k.PK), statetable.SK: events.NewStringAttribute(k.SK)}}}
}

func batch(recs ...events.DynamoDBEventRecord) events.DynamoDBEvent {
	return events.DynamoDBEvent{Records: recs}
}

func TestStreamStartsOnlyNewJobs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	started, other := f.populate(t), f.populate(t)
	job, _, err := f.jobs.Accept(ctx, started.acct)
	if err != nil {
		t.Fatal(err)
	}
	waiting, _, err := f.jobs.Accept(ctx, other.acct)
	if err != nil {
		t.Fatal(err)
	}
	// Everything the stream carries around an acceptance but the new job's
	// INSERT: the other job changed or removed, its pending entry, the
	// account and its email claim, a malformed job key.
	ignored := []events.DynamoDBEventRecord{
		record(1, events.DynamoDBOperationTypeModify, deletion.JobKey(waiting.ID)),
		record(2, events.DynamoDBOperationTypeRemove, deletion.JobKey(waiting.ID)),
		record(3, events.DynamoDBOperationTypeInsert, deletion.PendingKey(waiting.RequestedAt.UnixMilli(), waiting.ID)),
		record(4, events.DynamoDBOperationTypeModify, identity.AccountKey(other.acct.ID)),
		record(5, events.DynamoDBOperationTypeInsert, statetable.Key{PK: deletion.JobKey(waiting.ID).PK, SK: "OTHER"}),
		record(6, events.DynamoDBOperationTypeInsert, deletion.JobKey("del_not-an-id")),
	}
	for _, rec := range ignored {
		if id, ok := runner.JobInserted(rec); ok {
			t.Errorf("record %s %v starts job %s", rec.EventName, rec.Change.Keys, id)
		}
	}
	res, err := f.runner.HandleStream(ctx, batch(append(ignored, record(7, events.DynamoDBOperationTypeInsert, deletion.JobKey(job.ID)))...))
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("batch: %v %+v", err, res)
	}
	done, err := f.jobs.Get(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.assertGone(t, started, done)
	if w, err := f.jobs.Get(ctx, waiting.ID); err != nil || w.Status != deletion.StatusAccepted || len(w.Steps) != 0 {
		t.Errorf("a record that is no new job started one: %v %+v", err, w)
	}
	if s, _ := f.accounts.Sessions(ctx, other.acct.ID); len(s) != 2 {
		t.Errorf("the waiting job's account lost sessions: %d left", len(s))
	}

	// The same record again, for a job already done: nothing happens.
	deletes := f.backend.Calls("DELETE /v1/customers/{id}")
	res, err = f.runner.HandleStream(ctx, batch(record(8, events.DynamoDBOperationTypeInsert, deletion.JobKey(job.ID))))
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %+v", err, res)
	}
	again, err := f.jobs.Get(ctx, job.ID)
	if err != nil || again.Status != deletion.StatusDone || !again.CompletedAt.Equal(*done.CompletedAt) ||
		!slices.Equal(again.Steps, deletion.Steps) || again.Deleted["sources"] != 2 {
		t.Errorf("a done job's record changed it: %v %+v", err, again)
	}
	if n := f.backend.Calls("DELETE /v1/customers/{id}"); n != deletes {
		t.Errorf("a done job's record called Stripe again: %d deletions, then %d", deletes, n)
	}
	// A record for a job that does not exist (a receipt past its year) is no failure.
	res, err = f.runner.HandleStream(ctx, batch(record(9, events.DynamoDBOperationTypeInsert, deletion.JobKey("del_aaaaaaaaaaaaaaaaaaaaaaaaaa"))))
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Errorf("unknown job: %v %+v", err, res)
	}
}

// TestStreamDuplicatesAndHousekeepingEndInOneReceipt delivers a job's record
// twice in one batch and in two batches at once while housekeeping resumes
// the same job: one run does the work, every other finds it held or done,
// and the receipt counts everything once.
func TestStreamDuplicatesAndHousekeepingEndInOneReceipt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for round := range 3 {
		o := f.populate(t)
		job, _, err := f.jobs.Accept(ctx, o.acct)
		if err != nil {
			t.Fatal(err)
		}
		deletes := f.backend.Calls("DELETE /v1/customers/{id}")
		rec := record(100+round, events.DynamoDBOperationTypeInsert, deletion.JobKey(job.ID))
		var wg sync.WaitGroup
		results := make([]events.DynamoDBEventResponse, 2)
		errs := make([]error, 3)
		for i := range results {
			wg.Go(func() { results[i], errs[i] = f.runner.HandleStream(ctx, batch(rec, rec)) })
		}
		wg.Go(func() {
			// Housekeeping's pass, as housekeepingfn runs it.
			if _, err := f.runner.Run(ctx, job.ID); err != nil && !errors.Is(err, runner.ErrBusy) {
				errs[2] = err
			}
		})
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, runner %d: %v", round, i, err)
			}
		}
		for _, r := range results {
			if len(r.BatchItemFailures) != 0 {
				t.Errorf("round %d: a duplicate was reported failed: %+v", round, r)
			}
		}
		done, err := f.jobs.Get(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		f.assertGone(t, o, done)
		if done.Deleted["sources"] != 2 || done.Deleted["sessions"] != 2 || done.Deleted["request_logs"] != requestLogsPerAccount ||
			done.Deleted["stripe_customer"] != 1 || !slices.Equal(done.Steps, deletion.Steps) {
			t.Errorf("round %d: the receipt counts twice or misses: %v %v", round, done.Deleted, done.Steps)
		}
		if n := f.backend.Calls("DELETE /v1/customers/{id}") - deletes; n != 1 {
			t.Errorf("round %d: %d Stripe customer deletions", round, n)
		}
	}
}

// TestStreamFailureIsDeliveredAgain: a job that fails part-way is reported
// by its record's sequence number, so Lambda delivers the record again; the
// redelivery finishes it. A batch whose time runs out leaves its records
// for redelivery rather than starting them.
func TestStreamFailureIsDeliveredAgain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o, next := f.populate(t), f.populate(t)
	job, _, err := f.jobs.Accept(ctx, o.acct)
	if err != nil {
		t.Fatal(err)
	}
	rec := record(1, events.DynamoDBOperationTypeInsert, deletion.JobKey(job.ID))
	f.backend.Fail = func(method, path string) error {
		if method == http.MethodDelete {
			return &stripe.Error{HTTPStatusCode: 500, Type: stripe.ErrorTypeAPI}
		}
		return nil
	}
	res, err := f.runner.HandleStream(ctx, batch(rec))
	f.backend.Fail = nil
	if err != nil || len(res.BatchItemFailures) != 1 || res.BatchItemFailures[0].ItemIdentifier != rec.Change.SequenceNumber {
		t.Fatalf("with Stripe down: %v %+v, want the record reported failed", err, res)
	}
	if j, _ := f.jobs.Get(ctx, job.ID); j.Status == deletion.StatusDone {
		t.Fatal("the job finished with Stripe down")
	}
	res, err = f.runner.HandleStream(ctx, batch(rec))
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %+v", err, res)
	}
	done, err := f.jobs.Get(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.assertGone(t, o, done)

	// No time left: both records reported, neither job touched.
	late, _, err := f.jobs.Accept(ctx, next.acct)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	recs := batch(record(2, events.DynamoDBOperationTypeModify, identity.AccountKey(next.acct.ID)),
		record(3, events.DynamoDBOperationTypeInsert, deletion.JobKey(late.ID)))
	res, err = f.runner.HandleStream(short, recs)
	if err != nil || len(res.BatchItemFailures) != 2 || res.BatchItemFailures[1].ItemIdentifier != recs.Records[1].Change.SequenceNumber {
		t.Fatalf("out of time: %v %+v, want both records left for redelivery", err, res)
	}
	if j, _ := f.jobs.Get(ctx, late.ID); j.Status != deletion.StatusAccepted {
		t.Errorf("a job was started without time to run it: %+v", j)
	}
	// A record without a sequence number is a batch Lambda never sends.
	bad := record(4, events.DynamoDBOperationTypeInsert, deletion.JobKey(late.ID))
	bad.Change.SequenceNumber = ""
	if _, err := f.runner.HandleStream(ctx, batch(bad)); err == nil {
		t.Error("a record without a sequence number was accepted")
	}
}
