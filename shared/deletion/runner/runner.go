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
	"slices"
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
func (r *Runner) Run(ctx context.Context, id string) (*deletion.Job, error) {
	job, err := r.Jobs.Get(ctx, id)
	if err != nil || job.Status == deletion.StatusDone {
		return job, err
	}
	lease, err := r.lease(ctx, job)
	if err != nil {
		return job, err
	}
	// The account item, read once for the steps that need it (its email,
	// its Stripe customer); empty once the last step has removed it.
	sub, err := r.subject(ctx, job.AccountID)
	if err != nil {
		r.release(context.WithoutCancel(ctx), job, lease)
		return job, err
	}
	for _, step := range r.Steps() {
		if slices.Contains(job.Steps, step) {
			continue
		}
		if err := r.step(ctx, job, sub, lease, step); err != nil {
			r.Logger.WarnContext(ctx, "deletion step failed; it will be resumed", "deletion_id", job.ID, "step", step, "error", err)
			r.release(context.WithoutCancel(ctx), job, lease)
			latest, gerr := r.Jobs.Get(context.WithoutCancel(ctx), id)
			if gerr != nil {
				latest = job
			}
			return latest, fmt.Errorf("deletion step %s: %w", step, err)
		}
		r.Logger.InfoContext(ctx, "deletion step done", "deletion_id", job.ID, "step", step)
	}
	return r.Jobs.Get(ctx, id)
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

// count adds n to a category of the receipt.
func (r *Runner) count(ctx context.Context, lease *statetable.Lease, category string, n int) error {
	if n == 0 {
		return nil
	}
	path := expression.Name("deleted." + category)
	return r.underLease(ctx, lease,
		expression.Set(path, expression.Plus(expression.IfNotExists(path, expression.Value(0)), expression.Value(n))), "count deletions")
}

// done records a finished step and extends the lease.
func (r *Runner) done(ctx context.Context, job *deletion.Job, lease *statetable.Lease, step string) error {
	err := r.underLease(ctx, lease, lease.Renewed(expression.Set(expression.Name("steps"), expression.ListAppend(
		expression.IfNotExists(expression.Name("steps"), expression.Value([]string{})), expression.Value([]string{step}))),
		r.Now()), "record step")
	if err != nil {
		return err
	}
	job.Steps = append(job.Steps, step)
	return nil
}

// step runs every eraser of the step (or, for deletion.StepAccount, the
// runner's own last step), then records the step done.
func (r *Runner) step(ctx context.Context, job *deletion.Job, sub lifecycle.Subject, lease *statetable.Lease, step string) error {
	if step == deletion.StepAccount {
		return r.deleteAccount(ctx, job, sub, lease) // records itself, in its transaction
	}
	count := func(category string, n int) error { return r.count(ctx, lease, category, n) }
	for _, e := range r.Erasers {
		if e.Step != step {
			continue
		}
		if err := e.Erase(ctx, sub, count); err != nil {
			return err
		}
	}
	return r.done(ctx, job, lease, step)
}

// deleteAccount deletes whatever is left in the account's partition, then,
// in one transaction, the email claim (the address can sign up again), the
// account item, the job's pending entry, and turns the job into its
// receipt: done, without the account id, expiring after ReceiptRetention.
func (r *Runner) deleteAccount(ctx context.Context, job *deletion.Job, sub lifecycle.Subject, lease *statetable.Lease) error {
	found := sub.Item != nil
	rest := 0
	err := r.eachInAccount(ctx, job.AccountID, "", func(sk string) error {
		if sk == identity.AccountKey(job.AccountID).SK {
			return nil
		}
		rest++
		return r.deleteItem(ctx, r.Table, statetable.Key{PK: identity.AccountPartition(job.AccountID), SK: sk})
	})
	if err != nil {
		return err
	}
	if err := r.count(ctx, lease, "other_items", rest); err != nil {
		return err
	}
	// A request that was in flight when the deletion was accepted may have
	// logged since the request-log step: look once more.
	count := func(category string, n int) error { return r.count(ctx, lease, category, n) }
	for _, e := range r.Erasers {
		if e.Step != deletion.StepRequestLogs {
			continue
		}
		if err := e.Erase(ctx, sub, count); err != nil {
			return err
		}
	}
	now := r.Now().UTC()
	fin, err := expression.NewBuilder().
		WithCondition(lease.Held()).
		WithUpdate(lease.Released(expression.Set(expression.Name("status"), expression.Value(deletion.StatusDone)).
			Set(expression.Name("completed_at"), expression.Value(now.Format(time.RFC3339Nano))).
			Set(expression.Name(statetable.ExpiresAt), expression.Value(now.Add(deletion.ReceiptRetention).Unix())).
			Set(expression.Name("steps"), expression.ListAppend(
				expression.IfNotExists(expression.Name("steps"), expression.Value([]string{})), expression.Value([]string{deletion.StepAccount}))).
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
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
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

func (r *Runner) deleteItem(ctx context.Context, table string, k statetable.Key) error {
	if _, err := r.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: k.AV()}); err != nil {
		return fmt.Errorf("delete item: %w", err)
	}
	return nil
}
