package housekeepingfn

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrium-cdn/atrium/functions/deletion/deletionapi"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

func TestHousekeepingFinishesStalledDeletions(t *testing.T) {
	st := testenv.NewStack(t)
	env := st.Env("housekeeping")
	clock := testenv.NewClock(time.Now().UTC())
	h, err := New(context.Background(), withClock(st.ColdstartEnv("housekeeping", &testenv.LogBuffer{}, nil), clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	accounts := identity.NewStore(db, env["STATE_TABLE"], clock.Now)
	jobs := deletion.NewStore(db, env["STATE_TABLE"], clock.Now)
	var ids []string
	for range 3 {
		id := testenv.ActiveAccount(t, accounts, clock.Now())
		acct, err := accounts.Account(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		job, _, err := jobs.Accept(context.Background(), acct)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	// Just accepted: the stream's to start, not housekeeping's yet.
	r, err := h.Run(context.Background(), nil)
	if err != nil || r.Deletions.Resumed != 0 {
		t.Fatalf("fresh jobs resumed: %+v %v", r.Deletions, err)
	}
	clock.Advance(DeletionStall + time.Second)
	r, err = h.Run(context.Background(), nil)
	if err != nil || r.Deletions.Resumed != 3 || r.Deletions.Finished != 3 {
		t.Fatalf("stalled jobs: %+v %v", r.Deletions, err)
	}
	for _, id := range ids {
		if j, err := jobs.Get(context.Background(), id); err != nil || j.Status != deletion.StatusDone {
			t.Errorf("job %s: %v %+v", id, err, j)
		}
	}
	if pending, _ := jobs.Pending(context.Background(), clock.Now().Add(time.Hour), 10); len(pending) != 0 {
		t.Errorf("still pending: %v", pending)
	}
}

// withClock is a function's environment with the test's clock.
func withClock(e coldstart.Env, now func() time.Time) coldstart.Env {
	e.Now = now
	return e
}

// TestHousekeepingAndTheStreamRaceToOneReceipt resumes stalled jobs while the
// stream delivers their records (late, and twice) to the deletion function at
// the same moment: each job ends in one clean receipt, whichever run held it.
func TestHousekeepingAndTheStreamRaceToOneReceipt(t *testing.T) {
	st := testenv.NewStack(t)
	env := st.Env("housekeeping")
	clock := testenv.NewClock(time.Now().UTC())
	h, err := New(context.Background(), withClock(st.ColdstartEnv("housekeeping", &testenv.LogBuffer{}, nil), clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := deletionapi.NewStream(context.Background(), withClock(st.ColdstartEnv("deletion", &testenv.LogBuffer{}, nil), clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	accounts := identity.NewStore(db, env["STATE_TABLE"], clock.Now)
	jobs := deletion.NewStore(db, env["STATE_TABLE"], clock.Now)
	var ev events.DynamoDBEvent
	var ids []string
	for i := range 3 {
		id := testenv.ActiveAccount(t, accounts, clock.Now())
		acct, err := accounts.Account(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		job, _, err := jobs.Accept(context.Background(), acct)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
		k := deletion.JobKey(job.ID)
		rec := events.DynamoDBEventRecord{EventName: "INSERT", EventSource: "aws:dynamodb", Change: events.DynamoDBStreamRecord{
			SequenceNumber: fmt.Sprintf("%021d", i+1), Keys: map[string]events.DynamoDBAttributeValue{
				statetable.PK: events.NewStringAttribute(k.PK), statetable.SK: events.NewStringAttribute(k.SK)}}}
		ev.Records = append(ev.Records, rec, rec)
	}
	clock.Advance(DeletionStall + time.Second)
	// The deletion pass of a housekeeping run, started with the stream's
	// batch (the run's other passes would only delay it).
	var wg sync.WaitGroup
	var rep DeletionReport
	var hkErr, streamErr error
	var res events.DynamoDBEventResponse
	wg.Go(func() { rep, hkErr = h.resumeDeletions(context.Background(), clock.Now().Add(time.Minute)) })
	wg.Go(func() { res, streamErr = stream(context.Background(), ev) })
	wg.Wait()
	if hkErr != nil || streamErr != nil || len(res.BatchItemFailures) != 0 || rep.Failed != 0 || rep.Resumed != 3 {
		t.Fatalf("housekeeping %v %+v; stream %v %+v", hkErr, rep, streamErr, res)
	}
	t.Logf("housekeeping finished %d of the 3 jobs, the stream the others", rep.Finished)
	for _, id := range ids {
		j, err := jobs.Get(context.Background(), id)
		if err != nil || j.Status != deletion.StatusDone || !slices.Equal(j.Steps, deletion.Steps) ||
			j.Deleted["account"] != 1 || j.Deleted["email_claim"] != 1 || j.LeaseToken != "" {
			t.Errorf("job %s: %v %+v", id, err, j)
		}
	}
	if pending, _ := jobs.Pending(context.Background(), clock.Now().Add(time.Hour), 10); len(pending) != 0 {
		t.Errorf("still pending: %v", pending)
	}
}
