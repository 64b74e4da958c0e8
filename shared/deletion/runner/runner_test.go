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

	"github.com/stripe/stripe-go/v76"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/deletion/runner"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/plans"
)

func TestDeletionLeavesNothingButTheReceipt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := f.populate(t)
	o := f.populate(t)
	job, created, err := f.jobs.Accept(ctx, o.acct)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	// From acceptance on the login record is not active (the sessions are
	// refused: see identity's tests and the gateway's).
	sessions, _ := f.accounts.Sessions(ctx, o.acct.ID)
	if len(sessions) != 2 {
		t.Fatalf("setup: %d sessions", len(sessions))
	}
	if cred, err := f.accounts.Credential(ctx, o.acct.Email); err != nil || cred.Status != identity.StatusDeleting {
		t.Fatalf("login record after acceptance: %v %+v", err, cred)
	}
	done, err := f.runner.Run(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.assertGone(t, o, done)
	f.assertIntact(t, other)
	want := map[string]int{"sessions": 2, "pending_tokens": 2, "sources": 2, "source_secrets": 2, "stripe_customer": 1,
		"billing_links": 1, "login_failure_records": 1, "rate_counters": 2 /* compliance requests, reset emails */, "request_logs": requestLogsPerAccount, "account": 1, "email_claim": 1}
	for k, n := range want {
		if done.Deleted[k] != n {
			t.Errorf("receipt counts %d %s, want %d (receipt %v)", done.Deleted[k], k, n, done.Deleted)
		}
	}
	if !slices.Equal(done.Steps, deletion.Steps) || done.CompletedAt == nil {
		t.Errorf("steps %v, completed %v", done.Steps, done.CompletedAt)
	}
	if n := f.backend.Calls("DELETE /v1/customers/{id}"); n != 1 {
		t.Errorf("Stripe customer deletions: %d", n)
	}
	// Running a finished job again changes nothing.
	again, err := f.runner.Run(ctx, job.ID)
	if err != nil || again.Status != deletion.StatusDone || again.Deleted["sources"] != 2 {
		t.Errorf("second run: %v %+v", err, again)
	}
	// The address can sign up again, as a new account.
	fresh := &identity.Account{ID: "acct_" + o.acct.ID[5:len(o.acct.ID)-1] + "a", Email: o.acct.Email,
		Status: identity.StatusPending, CreatedAt: time.Now()}
	if err := f.accounts.CreatePending(ctx, fresh, time.Now().Add(time.Hour), plans.Initial()); err != nil {
		t.Errorf("re-signup with the deleted account's address: %v", err)
	}
}

// failEachWrite counts the writes of a clean run of r, then, on a new
// account each time, fails each of them in turn and resumes the job.
func failEachWrite(t *testing.T, f *fixture, r *runner.Runner) {
	ctx := context.Background()
	// Count the writes of a clean run, then fail each of them in turn.
	probe := f.populate(t)
	job, _, err := f.jobs.Accept(ctx, probe.acct)
	if err != nil {
		t.Fatal(err)
	}
	f.db.arm(0)
	clean, err := r.Run(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	writes := f.db.writes.Load()
	if writes < 20 {
		t.Fatalf("a clean run made only %d writes: the probe proves little", writes)
	}
	for n := int64(1); n <= writes; n++ {
		o := f.populate(t)
		job, _, err := f.jobs.Accept(ctx, o.acct)
		if err != nil {
			t.Fatal(err)
		}
		f.db.arm(n)
		_, err = r.Run(ctx, job.ID)
		f.db.arm(0)
		if !errors.Is(err, errInjected) && err == nil {
			// The injected write may have been one whose failure is
			// absorbed (none are today); then the job must be done.
			if j, _ := f.jobs.Get(ctx, job.ID); j.Status != deletion.StatusDone {
				t.Fatalf("write %d failed silently and the job is %s", n, j.Status)
			}
		}
		// Housekeeping (or the stream's redelivery) resumes it.
		done, err := r.Run(ctx, job.ID)
		if errors.Is(err, runner.ErrBusy) {
			t.Fatalf("write %d: the failed run kept its lease", n)
		}
		if err != nil {
			t.Fatalf("write %d: resume: %v", n, err)
		}
		f.assertGone(t, o, done)
		// The receipt lists the steps in order and counts nothing twice
		// (a count lost with a failed write of an owner's own is possible).
		if !slices.Equal(done.Steps, deletion.Steps) {
			t.Errorf("write %d: receipt steps %v", n, done.Steps)
		}
		for k, c := range done.Deleted {
			if c > clean.Deleted[k] {
				t.Errorf("write %d: receipt counts %d %s, a clean run %d", n, c, k, clean.Deleted[k])
			}
		}
	}
	t.Logf("a failure injected at each of the %d writes of a run was resumed to a clean state", writes)
}

func TestAFailureAtAnyPointIsResumedToTheSameCleanState(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// One after another, the n-th write is the same in every run, so each
	// is failed once; with the steps at once, which write comes n-th
	// varies from run to run.
	for _, parallelism := range []int{1, 0} {
		t.Run(fmt.Sprintf("each write, parallelism %d", parallelism), func(t *testing.T) {
			r := *f.runner
			r.Parallelism = parallelism
			failEachWrite(t, f, &r)
		})
	}

	t.Run("Secrets Manager fails", func(t *testing.T) {
		o := f.populate(t)
		job, _, _ := f.jobs.Accept(ctx, o.acct)
		f.sm.failDeletes.Store(true)
		if _, err := f.runner.Run(ctx, job.ID); err == nil {
			t.Fatal("the run ignored failed secret deletions")
		}
		f.sm.failDeletes.Store(false)
		done, err := f.runner.Run(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		f.assertGone(t, o, done)
	})
	t.Run("Stripe fails", func(t *testing.T) {
		o := f.populate(t)
		job, _, _ := f.jobs.Accept(ctx, o.acct)
		f.backend.Fail = func(method, path string) error {
			if method == http.MethodDelete {
				return &stripe.Error{HTTPStatusCode: 500, Type: stripe.ErrorTypeAPI}
			}
			return nil
		}
		if _, err := f.runner.Run(ctx, job.ID); !errors.Is(err, billing.ErrStripe) {
			t.Fatalf("run with Stripe down: %v", err)
		}
		f.backend.Fail = nil
		done, err := f.runner.Run(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		f.assertGone(t, o, done)
	})
}

func TestDeletingTwiceAtOnceIsOneDeletion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.populate(t)
	var wg sync.WaitGroup
	jobs := make([]*deletion.Job, 6)
	created := make([]bool, 6)
	for i := range jobs {
		wg.Go(func() {
			var err error
			if jobs[i], created[i], err = f.jobs.Accept(ctx, o.acct); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(slices.DeleteFunc(slices.Clone(created), func(c bool) bool { return !c })); n != 1 {
		t.Fatalf("%d acceptances created a job", n)
	}
	for _, j := range jobs[1:] {
		if j.ID != jobs[0].ID {
			t.Fatalf("two jobs: %s and %s", j.ID, jobs[0].ID)
		}
	}
	results := make([]error, 4)
	for i := range results {
		wg.Go(func() { _, results[i] = f.runner.Run(ctx, jobs[0].ID) })
	}
	wg.Wait()
	for _, err := range results {
		if err != nil && !errors.Is(err, runner.ErrBusy) {
			t.Errorf("concurrent run: %v", err)
		}
	}
	done, err := f.runner.Run(ctx, jobs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	f.assertGone(t, o, done)
	if done.Deleted["sources"] != 2 || done.Deleted["request_logs"] != requestLogsPerAccount {
		t.Errorf("concurrent runs miscounted: %v", done.Deleted)
	}
}

func TestAWebhookDuringOrAfterDeletionChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.populate(t)
	sync := &billing.Syncer{Stripe: billing.NewStripeWithBackend("sk_test_x", f.backend), Store: f.billing,
		PremiumPrice: "price_p", Grace: time.Hour}
	f.backend.SetSubscription(billingtestSub(o.customerID))
	job, _, err := f.jobs.Accept(ctx, o.acct)
	if err != nil {
		t.Fatal(err)
	}
	outcome, _, err := sync.Sync(ctx, o.customerID)
	if err != nil || outcome == billing.Applied {
		t.Fatalf("webhook during deletion: %s %v", outcome, err)
	}
	rec, err := f.billing.Record(ctx, o.acct.ID)
	if err != nil || rec.Status != "active" || rec.SubscriptionID != "sub_x" {
		t.Fatalf("the webhook changed the deleting account: %v %+v", err, rec)
	}
	done, err := f.runner.Run(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	outcome, _, err = sync.Sync(ctx, o.customerID)
	if err != nil || outcome != billing.UnknownCustomer {
		t.Fatalf("webhook after deletion: %s %v", outcome, err)
	}
	f.assertGone(t, o, done)
}

func TestOnlyActiveAccountsCanBeDeleted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.populate(t)
	gone := *o.acct
	gone.ID = "acct_" + fmt.Sprint(time.Now().UnixNano())
	if _, _, err := f.jobs.Accept(ctx, &gone); !errors.Is(err, deletion.ErrAccountNotActive) {
		t.Errorf("an unknown account: %v", err)
	}
	if _, err := f.jobs.Get(ctx, "del_aaaaaaaaaaaaaaaaaaaaaaaaaa"); !errors.Is(err, deletion.ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
}

// With its steps running at once, a step that fails leaves the others
// done and recorded (with their counts); the job is given up and the next
// run carries out only what is left, ending with the receipt a run without
// a failure gives. One after another (Parallelism 1), the steps after the
// failed one wait for the next run, as before.
func TestAFailedStepLeavesTheStepsBesideItDone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	stripeDown := func(method, _ string) error {
		if method == http.MethodDelete {
			return &stripe.Error{HTTPStatusCode: 500, Type: stripe.ErrorTypeAPI}
		}
		return nil
	}
	want := map[string]int{"sessions": 2, "pending_tokens": 2, "sources": 2, "source_secrets": 2, "stripe_customer": 1,
		"billing_links": 1, "login_failure_records": 1, "rate_counters": 2, "request_logs": requestLogsPerAccount, "account": 1, "email_claim": 1}
	for _, tc := range []struct {
		parallelism int
		doneAfter   []string // the steps recorded after the failed run
	}{
		{0, []string{deletion.StepSessions, deletion.StepTokens, deletion.StepPasskeys, deletion.StepSources,
			deletion.StepCounters, deletion.StepRequestLogs}},
		{1, []string{deletion.StepSessions, deletion.StepTokens, deletion.StepPasskeys, deletion.StepSources}},
	} {
		t.Run(fmt.Sprintf("parallelism %d", tc.parallelism), func(t *testing.T) {
			r := *f.runner
			r.Parallelism = tc.parallelism
			o := f.populate(t)
			job, _, err := f.jobs.Accept(ctx, o.acct)
			if err != nil {
				t.Fatal(err)
			}
			f.backend.Fail = stripeDown
			failed, err := r.Run(ctx, job.ID)
			f.backend.Fail = nil
			if !errors.Is(err, billing.ErrStripe) {
				t.Fatalf("run with Stripe down: %v", err)
			}
			got := slices.Sorted(slices.Values(failed.Steps))
			if exp := slices.Sorted(slices.Values(tc.doneAfter)); !slices.Equal(got, exp) {
				t.Fatalf("steps recorded after the failure %v, want %v", got, exp)
			}
			if failed.LeaseToken != "" {
				t.Errorf("the failed run kept its lease")
			}
			if tc.parallelism == 0 {
				if left := f.secretsOf(t, o.acct.ID); len(left) > 0 {
					t.Errorf("secrets left beside the failed step: %v", left)
				}
				if failed.Deleted["sources"] != 2 || failed.Deleted["request_logs"] != requestLogsPerAccount {
					t.Errorf("the steps done beside the failed one are not counted: %v", failed.Deleted)
				}
			}
			done, err := r.Run(ctx, job.ID)
			if err != nil {
				t.Fatal(err)
			}
			f.assertGone(t, o, done)
			if !slices.Equal(done.Steps, deletion.Steps) {
				t.Errorf("receipt steps %v", done.Steps)
			}
			for k, n := range want {
				if done.Deleted[k] != n {
					t.Errorf("receipt counts %d %s, want %d (receipt %v)", done.Deleted[k], k, n, done.Deleted)
				}
			}
		})
	}
}
