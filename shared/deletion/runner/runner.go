// Package runner carries out the account deletion jobs of package deletion
// (P7): each step in deletion.Steps, under the job's lease, from where the
// job stopped, ending in its receipt. HandleStream starts a job from the
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
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// LeaseDuration is how long one run holds a job; a run that crashed gives
// the job up when its lease lapses, and the next run resumes it.
const LeaseDuration = 2 * time.Minute

// Runner carries deletion jobs out.
type Runner struct {
	DB              statetable.DynamoDB
	Table           string
	RequestLogTable string
	Jobs            *deletion.Store
	Accounts        *identity.Store
	Sources         *sources.Store
	Vault           *sources.Vault
	Billing         *billing.Store
	Stripe          *billing.Stripe
	Keyer           *pseudonym.Keyer // pseudonyms of email addresses (the failed-login counter's key)
	Logger          *slog.Logger
	Now             func() time.Time
}

// ErrBusy reports a job another run holds.
var ErrBusy = errors.New("deletion job held by another run")

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
	// its Stripe customer); nil once the last step has removed it.
	acct, err := r.Billing.Record(ctx, job.AccountID)
	if errors.Is(err, billing.ErrAccountGone) {
		acct, err = nil, nil
	}
	if err != nil {
		r.release(context.WithoutCancel(ctx), job, lease)
		return job, err
	}
	for _, step := range deletion.Steps {
		if slices.Contains(job.Steps, step) {
			continue
		}
		if err := r.step(ctx, job, acct, lease, step); err != nil {
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

func (r *Runner) step(ctx context.Context, job *deletion.Job, acct *billing.Record, lease *statetable.Lease, step string) error {
	var err error
	switch step {
	case deletion.StepSessions:
		err = r.deleteSessions(ctx, job, lease)
	case deletion.StepTokens:
		err = r.deleteTokens(ctx, job, lease)
	case deletion.StepSources:
		err = r.deleteSources(ctx, job, lease)
	case deletion.StepStripe:
		err = r.deleteStripeCustomer(ctx, job, acct, lease)
	case deletion.StepThrottle:
		err = r.deleteLoginFailures(ctx, job, acct, lease)
	case deletion.StepRequestLogs:
		err = r.deleteRequestLogs(ctx, job, lease)
	case deletion.StepAccount:
		return r.deleteAccount(ctx, job, acct, lease) // records itself, in its transaction
	default:
		err = fmt.Errorf("unknown step %q", step)
	}
	if err != nil {
		return err
	}
	return r.done(ctx, job, lease, step)
}

func (r *Runner) deleteSessions(ctx context.Context, job *deletion.Job, lease *statetable.Lease) error {
	n, err := r.Accounts.RevokeSessions(ctx, job.AccountID, "")
	if err != nil {
		return err
	}
	return r.count(ctx, lease, "sessions", n)
}

// deleteTokens deletes the account's pending single-use tokens (email
// verification, password reset) through the pointers in its partition.
func (r *Runner) deleteTokens(ctx context.Context, job *deletion.Job, lease *statetable.Lease) error {
	n := 0
	err := r.eachInAccount(ctx, job.AccountID, identity.TokenRefPrefix, func(sk string) error {
		kind, hash, ok := strings.Cut(strings.TrimPrefix(sk, identity.TokenRefPrefix), "#")
		if !ok {
			return fmt.Errorf("malformed token pointer")
		}
		out, err := r.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(r.Table),
			Key: identity.TokenKey(kind, hash).AV(), ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		if out.Attributes != nil {
			n++
		}
		return r.deleteItem(ctx, r.Table, statetable.Key{PK: identity.AccountPartition(job.AccountID), SK: sk})
	})
	if err != nil {
		return err
	}
	return r.count(ctx, lease, "pending_tokens", n)
}

// deleteSources removes every source the way DELETE /v1/sources/{id} does:
// its secret deleted at once, with no recovery window.
func (r *Runner) deleteSources(ctx context.Context, job *deletion.Job, lease *statetable.Lease) error {
	list, err := r.Sources.List(ctx, job.AccountID)
	if err != nil {
		return err
	}
	for _, src := range list {
		err := sources.Remove(ctx, r.Sources, r.Vault, src)
		if errors.Is(err, sources.ErrSecretLeftToHousekeeping) {
			// The item is gone, the secret not yet: try once more now
			// (its intent stays until it goes, for housekeeping).
			if derr := r.Vault.Delete(ctx, src.SecretARN); derr != nil {
				return err
			}
			err = nil
		}
		if err != nil && !errors.Is(err, sources.ErrNotFound) {
			return err
		}
		if err := r.count(ctx, lease, "sources", 1); err != nil {
			return err
		}
		if err := r.count(ctx, lease, "source_secrets", 1); err != nil {
			return err
		}
	}
	return r.clearIntents(ctx, job)
}

// clearIntents deletes the secrets named by the account's write-ahead
// intents, and the intents: what an earlier, interrupted removal (or
// registration) left. Intents live for milliseconds, so the partition is
// short.
func (r *Runner) clearIntents(ctx context.Context, job *deletion.Job) error {
	intents, err := r.Sources.StaleIntents(ctx, r.Now().Add(time.Second), 1000)
	if err != nil {
		return err
	}
	for _, in := range intents {
		if in.AccountID != job.AccountID {
			continue
		}
		if err := r.Vault.Delete(ctx, in.SecretName); err != nil {
			return err
		}
		if err := r.Sources.ClearIntent(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

// deleteStripeCustomer deletes the account's Stripe customer (which cancels
// its subscriptions at once) and the link to it.
func (r *Runner) deleteStripeCustomer(ctx context.Context, job *deletion.Job, rec *billing.Record, lease *statetable.Lease) error {
	if rec == nil || rec.StripeCustomerID == "" {
		return nil
	}
	if err := r.Stripe.DeleteCustomer(ctx, rec.StripeCustomerID); err != nil {
		return err
	}
	if err := r.Billing.DeleteLink(ctx, rec.StripeCustomerID); err != nil {
		return err
	}
	if err := r.count(ctx, lease, "stripe_customer", 1); err != nil {
		return err
	}
	return r.count(ctx, lease, "billing_links", 1)
}

// deleteLoginFailures deletes the failed-login counter and the email caps'
// counters of the address and the account's compliance-request counters
// (all under pseudonyms).
func (r *Runner) deleteLoginFailures(ctx context.Context, job *deletion.Job, acct *billing.Record, lease *statetable.Lease) error {
	limits := throttle.NewStore(r.DB, r.Table, throttle.DefaultPolicy(), r.Now)
	rates, err := limits.ForgetClient(ctx, compliance.RateAction, r.Keyer.Of(compliance.RateDomain, job.AccountID), compliance.RequestLimit.Window)
	if err != nil {
		return err
	}
	if acct != nil {
		for _, kind := range throttle.MailKinds {
			n, err := limits.ForgetClient(ctx, kind, r.Keyer.Of(pseudonym.EmailDomain, acct.Email), throttle.MailWindow)
			if err != nil {
				return err
			}
			rates += n
		}
	}
	if err := r.count(ctx, lease, "rate_counters", rates); err != nil {
		return err
	}
	if acct == nil {
		return nil
	}
	out, err := r.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(r.Table),
		Key: throttle.FailureKey("login", r.Keyer.Of(pseudonym.EmailDomain, acct.Email)).AV(), ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return fmt.Errorf("delete failed-login counter: %w", err)
	}
	if out.Attributes != nil {
		return r.count(ctx, lease, "login_failure_records", 1)
	}
	return nil
}

// deleteRequestLogs deletes the account's request-log items.
func (r *Runner) deleteRequestLogs(ctx context.Context, job *deletion.Job, lease *statetable.Lease) error {
	return requestlog.EraseAccount(ctx, r.DB, r.RequestLogTable, job.AccountID, func(n int) error {
		return r.count(ctx, lease, "request_logs", n)
	})
}

// deleteAccount deletes whatever is left in the account's partition, then,
// in one transaction, the email claim (the address can sign up again), the
// account item, the job's pending entry, and turns the job into its
// receipt: done, without the account id, expiring after ReceiptRetention.
func (r *Runner) deleteAccount(ctx context.Context, job *deletion.Job, acct *billing.Record, lease *statetable.Lease) error {
	found := acct != nil
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
	if err := r.deleteRequestLogs(ctx, job, lease); err != nil {
		return err
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
	items := []types.TransactWriteItem{
		{Update: statetable.Update(r.Table, deletion.JobKey(job.ID), fin)},
		{Delete: &types.Delete{TableName: aws.String(r.Table), Key: deletion.PendingKey(job.RequestedAt.UnixMilli(), job.ID).AV()}},
		{Delete: &types.Delete{TableName: aws.String(r.Table), Key: identity.AccountKey(job.AccountID).AV()}},
	}
	if found {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(r.Table),
			Key:                       identity.EmailClaimKey(acct.Email).AV(),
			ConditionExpression:       aws.String("attribute_not_exists(account_id) OR account_id = :a"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: job.AccountID}},
		}})
	}
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
