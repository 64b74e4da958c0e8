package housekeepingfn

import (
	"context"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
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
	// Just accepted: the status route's to carry on, not housekeeping's yet.
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
