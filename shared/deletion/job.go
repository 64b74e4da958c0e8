// Package deletion holds the account deletion job (P7) and its store: a job
// is accepted in one transaction that stops the account from logging in or
// using any session, then carried out step by step (Steps), each step
// idempotent and recorded, so that a crash or a failed call at any point
// resumes where it stopped. The finished job is a receipt that holds no
// personal data, kept for ReceiptRetention.
//
// Carrying a job out is package runner (shared/deletion/runner): the state
// table's stream starts each job the moment it is accepted, a failed run is
// delivered again, and the scheduled housekeeping resumes any job left
// unfinished. The runner links everything a deletion erases (Stripe,
// sources, compliance, request logs); this package links none of it, so
// that accepting a deletion (the auth function) does not either.
package deletion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// ReceiptRetention is how long a finished job (the receipt) is kept.
const ReceiptRetention = 365 * 24 * time.Hour

// Job statuses.
const (
	StatusAccepted = "accepted" // no step run yet
	StatusRunning  = "running"  // some steps done
	StatusDone     = "done"
)

// IDPrefix begins every deletion id.
const IDPrefix = "del"

// The steps of a job, in the order they run (package runner carries them
// out); a job records each one it has done in Steps. Each is idempotent:
// run again after a crash, it finds less (or nothing) left to delete.
const (
	StepSessions    = "sessions"
	StepTokens      = "tokens"
	StepPasskeys    = "passkeys" // every passkey, the user handle and its index
	StepSources     = "sources"
	StepStripe      = "stripe_customer"
	StepCounters    = "counters" // the failed-login, email-cap and compliance counters kept under pseudonyms
	StepRequestLogs = "request_logs"
	StepAccount     = "account"
)

// Steps lists the steps in order.
var Steps = []string{StepSessions, StepTokens, StepPasskeys, StepSources, StepStripe, StepCounters, StepRequestLogs, StepAccount}

// Job is a deletion as stored. AccountID is removed when the job finishes:
// the receipt keeps only counts, times and the digest.
type Job struct {
	ID          string         `dynamodbav:"id" json:"id"`
	Status      string         `dynamodbav:"status" json:"status"`
	AccountID   string         `dynamodbav:"account_id,omitempty" json:"-"`
	RequestedAt time.Time      `dynamodbav:"requested_at" json:"requested_at"`
	CompletedAt *time.Time     `dynamodbav:"completed_at,omitempty" json:"completed_at,omitempty"`
	Steps       []string       `dynamodbav:"steps,omitempty" json:"steps_completed"`
	Deleted     map[string]int `dynamodbav:"deleted" json:"deleted"`
	// Digest is SHA-256 over "atrium-deletion-v1\n<deletion id>\n<account id>\n<email>":
	// whoever knows the account's id and address can show the receipt is theirs;
	// the receipt alone reveals neither.
	Digest       string `dynamodbav:"digest" json:"account_digest"`
	LeaseToken   string `dynamodbav:"lease_token,omitempty" json:"-"`
	LeaseUntilMs int64  `dynamodbav:"lease_until_ms,omitempty" json:"-"`
	ExpiresAt    int64  `dynamodbav:"expires_at,omitempty" json:"-"`
}

// Digest computes a receipt's account digest.
func Digest(deletionID, accountID, email string) string {
	sum := sha256.Sum256([]byte("atrium-deletion-v1\n" + deletionID + "\n" + accountID + "\n" + email))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Store reads and writes deletion jobs.
type Store struct {
	statetable.Table
}

// NewStore returns a Store over the state table. now may be nil (time.Now).
func NewStore(db statetable.DynamoDB, table string, now func() time.Time) *Store {
	return &Store{statetable.NewTable(db, table, now)}
}

// accounts is the account owner's view of the same table.
func (s *Store) accounts() *identity.Store { return identity.NewStore(s.DB, s.Name, s.Now) }

// ErrNotFound reports an unknown deletion id (or a receipt past its retention).
var ErrNotFound = statetable.NotFound("deletion not found")

// Get reads a job.
func (s *Store) Get(ctx context.Context, id string) (*Job, error) {
	return statetable.Item[Job](ctx, s.Table, JobKey(id), "deletion job", ErrNotFound)
}

// ErrAccountNotActive reports an account that is not active (and not being
// deleted), or gone.
var ErrAccountNotActive = errors.New("account not active")

// Accept starts the deletion of an active account, in one transaction: the
// job and its entry among pending jobs are written, and the account and its
// email claim are marked deleting (no login, no session works from then on).
// If the account's deletion was already accepted, it returns that job and
// created false: deleting twice is one deletion.
func (s *Store) Accept(ctx context.Context, acct *identity.Account) (job *Job, created bool, err error) {
	now := s.Now().UTC()
	j := &Job{ID: ids.New(IDPrefix), Status: StatusAccepted, AccountID: acct.ID, RequestedAt: now, Deleted: map[string]int{}}
	j.Digest = Digest(j.ID, acct.ID, acct.Email)
	item, err := attributevalue.MarshalMap(j)
	if err != nil {
		return nil, false, fmt.Errorf("encode deletion job: %w", err)
	}
	for k, v := range JobKey(j.ID).AV() {
		item[k] = v
	}
	pending := PendingKey(now.UnixMilli(), j.ID).AV()
	pending["deletion_id"] = &types.AttributeValueMemberS{Value: j.ID}
	stop, err := identity.MarkDeleting(s.Name, acct, j.ID)
	if err != nil {
		return nil, false, err
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append([]types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": statetable.PK}}},
		{Put: &types.Put{TableName: aws.String(s.Name), Item: pending}},
	}, stop...)})
	if statetable.IsConditionFailed(err) {
		underway, gerr := s.accounts().DeletionUnderway(ctx, acct.ID)
		if gerr != nil {
			return nil, false, gerr
		}
		if underway != "" {
			existing, gerr := s.Get(ctx, underway)
			return existing, false, gerr
		}
		return nil, false, ErrAccountNotActive
	}
	if err != nil {
		return nil, false, fmt.Errorf("accept deletion: %w", err)
	}
	return j, true, nil
}

// Pending returns the ids of unfinished jobs accepted before cutoff, oldest
// first, at most limit.
func (s *Store) Pending(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	var out []string
	errEnough := errors.New("enough")
	err := statetable.EachInPartition(ctx, s.DB, s.Name, PendingPartition, "", nil,
		func(item map[string]types.AttributeValue) error {
			var p struct {
				SK         string `dynamodbav:"sk"`
				DeletionID string `dynamodbav:"deletion_id"`
			}
			if err := attributevalue.UnmarshalMap(item, &p); err != nil {
				return fmt.Errorf("decode pending deletion: %w", err)
			}
			if p.SK >= fmt.Sprintf("%013d", cutoff.UnixMilli()) {
				return errEnough // sorted by time: the rest are newer
			}
			out = append(out, p.DeletionID)
			if len(out) == limit {
				return errEnough
			}
			return nil
		})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return out, nil
}
