// Package runner carries out the account deletion jobs of package deletion
// (P7): the owners' erasers (lifecycle.Eraser, listed in Erasers) step by
// step, under the job's lease, from where the job stopped, then its own
// last step, which deletes what is left of the account and turns the job
// into its receipt. HandleStream starts a job from the
// state table's stream the moment it is accepted (in the deletion
// function); the scheduled housekeeping resumes any job left unfinished.
// It links everything a deletion erases (sources and their secrets,
// Stripe, request logs, rate counters), so it lives apart from the job
// model: the auth function, which only accepts deletions, does not link it.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// LeaseDuration is how long one run holds a job; a run that crashed gives
// the job up when its lease lapses, and the next run resumes it.
const LeaseDuration = 2 * time.Minute

// Runner carries deletion jobs out.
type Runner struct {
	DB    statetable.DynamoDB
	Table string
	Jobs  *deletion.Store
	// Erasers are the owners' parts of a deletion, in the order they run
	// (Erasers in build.go lists them); the runner's own last step,
	// deletion.StepAccount, follows them.
	Erasers []lifecycle.Eraser
	Logger  *slog.Logger
	Now     func() time.Time
	// Parallelism bounds how many steps run at once, and how many
	// deletions of the last step's leftovers are in flight: 0 is
	// DefaultParallelism; 1 runs the steps one after another in the order
	// of Steps, as before issue 17.
	Parallelism int
}

// DefaultParallelism is how many of a job's steps run at once. The
// erasers' steps are independent of one another: each deletes only its
// owner's items, reads the account only through the Subject read before
// any step (its email and Stripe customer), and is idempotent; only the
// runner's last step, which deletes the account item the Subject is read
// from, needs every other step done. Within a step, what must come first
// does (a source's secret is deleted under its write-ahead intent, a
// token before its pointer, a passkey's index before the passkey), each
// owner's Erase keeping its own order. The request logs step may meet a
// straggler logged by a request in flight: the last step looks again.
const DefaultParallelism = 8

func (r *Runner) parallelism() int {
	if r.Parallelism <= 0 {
		return DefaultParallelism
	}
	return r.Parallelism
}

// ErrBusy reports a job another run holds.
var ErrBusy = errors.New("deletion job held by another run")

// Steps are the steps a job goes through: the erasers' steps in order, then
// deletion.StepAccount.
func (r *Runner) Steps() []string {
	return append(lifecycle.Steps(r.Erasers), deletion.StepAccount)
}

// Run carries the job out from where it stopped and returns it as it then
// stands. A job another run holds is returned as it is, with ErrBusy.
//
// The erasers' steps not yet done run at once, at most Parallelism of
// them; each is recorded as it finishes. When one fails, no further step
// starts, those running finish (and are recorded), and the run gives the
// job up: the next run carries on with the steps left. The last step
// (deletion.StepAccount) runs once every other step is recorded.
func (r *Runner) Run(ctx context.Context, id string) (*deletion.Job, error) {
	job, err := r.Jobs.Get(ctx, id)
	if err != nil || job.Status == deletion.StatusDone {
		return job, err
	}
	// The lease, and the account item (read once for the steps that need
	// it: its email, its Stripe customer; empty once the last step has
	// removed it), in one round trip's time: the read changes nothing.
	var (
		lease        *statetable.Lease
		sub          lifecycle.Subject
		leaseErr     error
		subErr       error
		concurrently sync.WaitGroup
	)
	concurrently.Go(func() { lease, leaseErr = r.lease(ctx, job) })
	sub, subErr = r.subject(ctx, job.AccountID)
	concurrently.Wait()
	if leaseErr != nil {
		return job, leaseErr
	}
	if subErr != nil {
		r.release(context.WithoutCancel(ctx), job, lease)
		return job, subErr
	}
	var pending []string
	for _, step := range r.Steps() {
		if !slices.Contains(job.Steps, step) && step != deletion.StepAccount {
			pending = append(pending, step)
		}
	}
	failed := eachBounded(r.parallelism(), pending, func(step string) error {
		if err := r.step(ctx, sub, lease, step); err != nil {
			r.Logger.WarnContext(ctx, "deletion step failed; it will be resumed", "deletion_id", job.ID, "step", step, "error", err)
			return fmt.Errorf("deletion step %s: %w", step, err)
		}
		r.Logger.InfoContext(ctx, "deletion step done", "deletion_id", job.ID, "step", step)
		return nil
	})
	if failed == nil {
		if failed = r.deleteAccount(ctx, job, sub, lease); failed != nil {
			r.Logger.WarnContext(ctx, "deletion step failed; it will be resumed", "deletion_id", job.ID, "step", deletion.StepAccount, "error", failed)
			failed = fmt.Errorf("deletion step %s: %w", deletion.StepAccount, failed)
		}
	}
	if failed != nil {
		r.release(context.WithoutCancel(ctx), job, lease)
		latest, gerr := r.Jobs.Get(context.WithoutCancel(ctx), id)
		if gerr != nil {
			latest = job
		}
		return latest, failed
	}
	r.Logger.InfoContext(ctx, "deletion step done", "deletion_id", job.ID, "step", deletion.StepAccount)
	return r.Jobs.Get(ctx, id)
}

// eachBounded calls fn for each item, at most limit at once, and returns
// their errors joined in the items' order. Once one has failed no further
// call starts; those under way finish.
func eachBounded[T any](limit int, items []T, fn func(T) error) error {
	errs := make([]error, len(items))
	var (
		mu     sync.Mutex
		failed bool
		wg     sync.WaitGroup
	)
	slots := make(chan struct{}, max(limit, 1))
	for i, it := range items {
		slots <- struct{}{}
		mu.Lock()
		stop := failed
		mu.Unlock()
		if stop {
			<-slots
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := fn(it); err != nil {
				errs[i] = err
				mu.Lock()
				failed = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// subject reads the account item as the erasers see it.
func (r *Runner) subject(ctx context.Context, accountID string) (lifecycle.Subject, error) {
	sub := lifecycle.Subject{AccountID: accountID}
	item, err := r.state().Raw(ctx, identity.AccountKey(accountID))
	if err != nil || item == nil {
		return sub, err
	}
	var a identity.Account
	if err := attributevalue.UnmarshalMap(item, &a); err != nil {
		return sub, fmt.Errorf("decode account: %w", err)
	}
	sub.Email, sub.Item = a.Email, item
	return sub, nil
}

// state is the state table as the leases see it.
func (r *Runner) state() statetable.Table { return statetable.NewTable(r.DB, r.Table, r.Now) }

// lease takes the job for this run.
func (r *Runner) lease(ctx context.Context, job *deletion.Job) (*statetable.Lease, error) {
	lease, err := r.state().TakeLease(ctx, deletion.JobKey(job.ID), LeaseDuration,
		expression.Name("status").NotEqual(expression.Value(deletion.StatusDone)),
		expression.Set(expression.Name("status"), expression.Value(deletion.StatusRunning)))
	if errors.Is(err, statetable.ErrLeaseRefused) {
		return nil, ErrBusy
	}
	if err != nil {
		return nil, fmt.Errorf("lease deletion job: %w", err)
	}
	return lease, nil
}

// release gives the job up after a failure so the next run starts at once.
func (r *Runner) release(ctx context.Context, job *deletion.Job, lease *statetable.Lease) {
	if _, err := r.state().ReleaseLease(ctx, lease); err != nil {
		r.Logger.WarnContext(ctx, "deletion lease not released; it will lapse", "deletion_id", job.ID, "error", err)
	}
}

// underLease applies up to the job only while this run holds its lease; a
// lapsed lease (another run took over) is ErrBusy.
func (r *Runner) underLease(ctx context.Context, lease *statetable.Lease, up expression.UpdateBuilder, what string) error {
	ok, err := r.state().UnderLease(ctx, lease, up)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !ok {
		return ErrBusy
	}
	return nil
}

// tally holds a step's counts until they are written with the step's
// record (done), or, when the step fails, on their own (flush): what a
// failed attempt deleted stays counted, though the next run will not find
// it again. Only a crash mid-step loses the counts of what that attempt
// deleted (before issue 17, of the last item or batch).
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

// count is the lifecycle.Count the step's erasers are given.
func (t *tally) count(category string, n int) error {
	if n == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[category] += n
	return nil
}

// added adds the counts to up (a nil up is a new update); ok is false
// when there are none.
func (t *tally) added(up *expression.UpdateBuilder) (out expression.UpdateBuilder, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if up != nil {
		out = *up
	}
	categories := slices.Sorted(maps.Keys(t.n))
	for _, c := range categories {
		path := expression.Name("deleted." + c)
		out = out.Set(path, expression.Plus(expression.IfNotExists(path, expression.Value(0)), expression.Value(t.n[c])))
	}
	return out, len(categories) > 0
}

// flush writes the counts of a step that failed, logging what it cannot
// write (the error that matters is the step's).
func (r *Runner) flush(ctx context.Context, lease *statetable.Lease, t *tally) {
	up, ok := t.added(nil)
	if !ok {
		return
	}
	if err := r.underLease(context.WithoutCancel(ctx), lease, up, "count deletions"); err != nil {
		r.Logger.WarnContext(ctx, "deletion counts of a failed step not recorded", "error", err)
	}
}

// done records a finished step, with its counts, and extends the lease.
// Steps running at once are recorded in the order they finish; the
// receipt lists them in the order of Steps (deleteAccount).
func (r *Runner) done(ctx context.Context, lease *statetable.Lease, step string, t *tally) error {
	up := expression.Set(expression.Name("steps"), expression.ListAppend(
		expression.IfNotExists(expression.Name("steps"), expression.Value([]string{})), expression.Value([]string{step})))
	up, _ = t.added(&up)
	return r.underLease(ctx, lease, lease.Renewed(up, r.Now()), "record step")
}

// step runs every eraser of the step (at once, when there are several:
// each owner's part is independent of the others'), then records the step
// done with its counts.
func (r *Runner) step(ctx context.Context, sub lifecycle.Subject, lease *statetable.Lease, step string) error {
	t := &tally{}
	if err := r.erase(ctx, sub, step, t); err != nil {
		r.flush(ctx, lease, t)
		return err
	}
	return r.done(ctx, lease, step, t)
}

// erase runs the erasers of a step, at most Parallelism at once, counting
// into t.
func (r *Runner) erase(ctx context.Context, sub lifecycle.Subject, step string, t *tally) error {
	var erasers []lifecycle.Eraser
	for _, e := range r.Erasers {
		if e.Step == step {
			erasers = append(erasers, e)
		}
	}
	return eachBounded(r.parallelism(), erasers, func(e lifecycle.Eraser) error { return e.Erase(ctx, sub, t.count) })
}

// deleteAccount deletes whatever is left in the account's partition and,
// at the same time, looks once more for request logs (a request that was
// in flight when the deletion was accepted may have logged since the
// request-log step); then, in one transaction, it deletes the email claim
// (the address can sign up again), the account item and the job's pending
// entry, and turns the job into its receipt: done, without the account id,
// expiring after ReceiptRetention, its steps listed in the order of Steps.
func (r *Runner) deleteAccount(ctx context.Context, job *deletion.Job, sub lifecycle.Subject, lease *statetable.Lease) error {
	found := sub.Item != nil
	t := &tally{}
	var restErr, logsErr error
	var concurrently sync.WaitGroup
	concurrently.Go(func() { restErr = r.deleteRest(ctx, job, t) })
	logsErr = r.erase(ctx, sub, deletion.StepRequestLogs, t)
	concurrently.Wait()
	if err := errors.Join(restErr, logsErr); err != nil {
		r.flush(ctx, lease, t)
		return err
	}
	now := r.Now().UTC()
	up := expression.Set(expression.Name("status"), expression.Value(deletion.StatusDone))
	up, _ = t.added(&up)
	fin, err := expression.NewBuilder().
		WithCondition(lease.Held()).
		WithUpdate(lease.Released(up.
			Set(expression.Name("completed_at"), expression.Value(now.Format(time.RFC3339Nano))).
			Set(expression.Name(statetable.ExpiresAt), expression.Value(now.Add(deletion.ReceiptRetention).Unix())).
			Set(expression.Name("steps"), expression.Value(r.Steps())).
			Set(expression.Name("deleted.account"), expression.Value(boolCount(found))).
			Set(expression.Name("deleted.email_claim"), expression.Value(boolCount(found))).
			Remove(expression.Name("account_id")))).Build()
	if err != nil {
		return fmt.Errorf("build receipt: %w", err)
	}
	items := append([]types.TransactWriteItem{
		{Update: statetable.Update(r.Table, deletion.JobKey(job.ID), fin)},
		{Delete: &types.Delete{TableName: aws.String(r.Table), Key: deletion.PendingKey(job.RequestedAt.UnixMilli(), job.ID).AV()}},
	}, identity.AccountDeletes(r.Table, job.AccountID, sub.Email)...)
	if _, err := r.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		if statetable.IsConditionFailed(err) {
			return ErrBusy
		}
		r.flush(ctx, lease, t)
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
}

// deleteRest deletes every item left in the account's partition but the
// account item, in batches of 25 (at most Parallelism batches at once),
// and counts them into t.
func (r *Runner) deleteRest(ctx context.Context, job *deletion.Job, t *tally) error {
	var keys []statetable.Key
	err := r.eachInAccount(ctx, job.AccountID, "", func(sk string) error {
		if sk != identity.AccountKey(job.AccountID).SK {
			keys = append(keys, statetable.Key{PK: identity.AccountPartition(job.AccountID), SK: sk})
		}
		return nil
	})
	if err != nil {
		return err
	}
	batches := slices.Collect(slices.Chunk(keys, statetable.BatchSize))
	var mu sync.Mutex
	deleted := 0
	err = eachBounded(r.parallelism(), batches, func(batch []statetable.Key) error {
		n, err := statetable.DeleteKeys(ctx, r.DB, r.Table, batch)
		mu.Lock()
		deleted += n
		mu.Unlock()
		return err
	})
	// What was deleted is counted even when a batch failed: the next run
	// will not find it again.
	_ = t.count("other_items", deleted)
	return err
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

// eachInAccount calls fn with the sort key of every item of the account's
// partition in the state table whose sort key begins with prefix.
func (r *Runner) eachInAccount(ctx context.Context, accountID, prefix string, fn func(sk string) error) error {
	return statetable.EachInPartition(ctx, r.DB, r.Table, identity.AccountPartition(accountID), prefix,
		[]string{statetable.SK}, func(item map[string]types.AttributeValue) error {
			var k struct {
				SK string `dynamodbav:"sk"`
			}
			if err := attributevalue.UnmarshalMap(item, &k); err != nil {
				return fmt.Errorf("decode key: %w", err)
			}
			return fn(k.SK)
		})
}
