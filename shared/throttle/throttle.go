// Package throttle slows down password guessing: a counter of consecutive
// login failures per email address (exponential delays, then a lock), and a
// sliding-window rate limit per client address. Both are keyed by
// pseudonyms (keyed hashes), so neither an email nor an IP address is
// stored, and an address without an account is throttled exactly like one
// with an account. Counters live in the state table under TTL.
package throttle

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/statetable"
)

// DynamoDB is the part of the DynamoDB API the package uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Policy says how consecutive failures are answered.
type Policy struct {
	// FreeFailures may fail in a row without any delay.
	FreeFailures int
	// BaseDelay is the wait after the first failure beyond FreeFailures; each
	// further failure doubles it, up to MaxDelay.
	BaseDelay, MaxDelay time.Duration
	// LockAfter consecutive failures lock password logins until the password
	// is reset (NIST SP 800-63B: at most 100).
	LockAfter int
	// Memory is how long a counter is kept after the last failure (TTL); a
	// locked counter is kept LockMemory.
	Memory, LockMemory time.Duration
}

// DefaultPolicy: 5 free failures, then 1 s doubling up to 15 min, lock at 100.
func DefaultPolicy() Policy {
	return Policy{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: 15 * time.Minute, LockAfter: 100,
		Memory: 30 * 24 * time.Hour, LockMemory: 365 * 24 * time.Hour}
}

// Validate reports a policy the store cannot enforce: a cold start refuses
// it (a configuration error) rather than run with it.
func (p Policy) Validate() error {
	var errs []error
	if p.FreeFailures < 0 {
		errs = append(errs, errors.New("free failures must not be negative"))
	}
	if p.BaseDelay <= 0 || p.MaxDelay <= 0 {
		errs = append(errs, errors.New("delays must be positive"))
	}
	if p.LockAfter < 2 {
		// The lock is the attempt counted on a record of LockAfter-1 failures.
		errs = append(errs, errors.New("the lock must come after at least two failures"))
	}
	if p.MaxDelay >= p.Memory {
		// Waiting the delay out would outlast the record: its failures
		// forgotten, the address would never lock.
		errs = append(errs, errors.New("the longest delay must be shorter than the failure record's memory, or the address never locks"))
	}
	if p.LockMemory < p.Memory {
		errs = append(errs, errors.New("a lock must be kept at least as long as the failure record"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("throttle policy: %w", errors.Join(errs...))
	}
	return nil
}

// Delay is the wait required after n consecutive failures.
func (p Policy) Delay(n int) time.Duration {
	if n < p.FreeFailures {
		return 0
	}
	// Compare in floating point: BaseDelay·2^k overflows a Duration long
	// before k reaches the hundred failures a lock allows.
	d := float64(p.BaseDelay) * math.Pow(2, float64(n-p.FreeFailures))
	if d >= float64(p.MaxDelay) {
		return p.MaxDelay
	}
	return time.Duration(d)
}

// Store keeps the counters.
type Store struct {
	db     DynamoDB
	table  string
	now    func() time.Time
	policy Policy
}

// NewStore returns a Store over the state table. now may be nil (time.Now).
func NewStore(db DynamoDB, table string, policy Policy, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, table: table, now: now, policy: policy}
}

// Policy is the store's failure policy.
func (s *Store) Policy() Policy { return s.policy }

// Failures is a subject's consecutive-failure record.
type Failures struct {
	Count       int   `dynamodbav:"failures"`
	LastMillis  int64 `dynamodbav:"last_failure_ms"`
	LockedUntil int64 `dynamodbav:"-"`
	// LockNotified: the lock was claimed for telling (ClaimLockNoticeAt).
	LockNotified bool `dynamodbav:"lock_notified"`
}

// Wait says what a new attempt must do: Locked means refuse until the
// password is reset; otherwise RetryAfter > 0 means not before then.
type Wait struct {
	Locked     bool
	RetryAfter time.Duration
}

// Check answers for an attempt at now.
func (f Failures) Check(p Policy, now time.Time) Wait {
	if f.Count >= p.LockAfter {
		return Wait{Locked: true}
	}
	next := time.UnixMilli(f.LastMillis).Add(p.Delay(f.Count))
	if wait := next.Sub(now); wait > 0 {
		return Wait{RetryAfter: wait}
	}
	return Wait{}
}

// Delayed reports whether the record had reached the point of delays (for
// the "new sign-in after failed attempts" notification).
func (f Failures) Delayed(p Policy) bool { return f.Count >= p.FreeFailures }

// LoginFailures reads the subject's record (zero when none).
func (s *Store) LoginFailures(ctx context.Context, subject string) (Failures, error) {
	return s.FailuresAt(ctx, FailureKey("login", subject))
}

// FailuresAt reads the failures counted at k (zero when none).
func (s *Store) FailuresAt(ctx context.Context, k statetable.Key) (Failures, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: k.AV(), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Failures{}, fmt.Errorf("get failure counter: %w", err)
	}
	var f Failures
	if out.Item == nil || statetable.Expired(out.Item, s.now()) {
		return f, nil
	}
	if err := attributevalue.UnmarshalMap(out.Item, &f); err != nil {
		return Failures{}, fmt.Errorf("decode failure counter: %w", err)
	}
	return f, nil
}

// Attempt is a password attempt that took its slot: Failures is the record
// with this attempt already counted as a failure (so a concurrent attempt
// sees it before this one's hash is checked); Clear it if the password
// proves right.
type Attempt struct {
	Failures Failures
	// Previous is the record as it stood before this attempt.
	Previous Failures
}

// maxSlotRounds bounds how often TakeAttempt tries again after a refusal
// that its own reading does not explain (the record changed between the
// write and the read of why it failed, or an expired record had to be
// replaced). Each such round means another attempt took a slot, so after
// FreeFailures+1 rounds at most the record is delayed and the attempt is
// refused; the bound is only a backstop.
const maxSlotRounds = 32

// TakeAttempt takes the subject's slot for one password attempt before any
// hashing work: one conditional write counts the attempt as a failure when
// the record allows an attempt now (not locked, not delayed), and refuses
// it otherwise (Wait). Each write is atomic, so N concurrent attempts are
// answered exactly as N sequential ones: each is judged against every
// attempt that took its slot before it, and no more attempts are evaluated
// than the policy allows.
func (s *Store) TakeAttempt(ctx context.Context, subject string) (Attempt, Wait, error) {
	return s.TakeAttemptAt(ctx, FailureKey("login", subject))
}

// TakeAttemptAt is TakeAttempt on a counter whose key its owner chooses
// (a second factor's failures live in the account's partition): the same
// slot-before-work counting, under the store's policy.
//
// The usual attempt is one UpdateItem whose condition is the policy
// (allowed), returning the record as it stood (on success, the previous
// record; on refusal, the record that refused it, for the Wait). Two rare
// attempts take a second write, each conditioned on the record the first
// one returned: the one after a record expired but was not yet deleted
// (TTL lags), which replaces it, and the one that locks, which writes the
// lock and its LockMemory expiry together (lockAttempt), so that no
// failure between two writes can leave a lock that expires after Memory.
func (s *Store) TakeAttemptAt(ctx context.Context, k statetable.Key) (Attempt, Wait, error) {
	key := k.AV()
	for range maxSlotRounds {
		now := s.now()
		next, old, err := s.countAttempt(ctx, key, now)
		if err != nil {
			return Attempt{}, Wait{}, err
		}
		if next != nil {
			prev, err := decodeFailures(old)
			if err != nil {
				return Attempt{}, Wait{}, err
			}
			return Attempt{Previous: prev, Failures: *next}, Wait{}, nil
		}
		if old == nil {
			continue // gone between the write and its answer: try again
		}
		if statetable.Expired(old, now) {
			if att, ok, err := s.replaceExpired(ctx, key, now); err != nil || ok {
				return att, Wait{}, err
			}
			continue
		}
		prev, err := decodeFailures(old)
		if err != nil {
			return Attempt{}, Wait{}, err
		}
		w := prev.Check(s.policy, now)
		if w.Locked || w.RetryAfter > 0 {
			return Attempt{Previous: prev, Failures: prev}, w, nil
		}
		if prev.Count == s.policy.LockAfter-1 {
			// The attempt that locks, which countAttempt leaves to this
			// one write.
			if att, ok, err := s.lockAttempt(ctx, key, prev, now); err != nil || ok {
				return att, Wait{}, err
			}
		}
	}
	// Lost every round: others are taking slots this very moment, so the
	// record is about to be delayed anyway; answer with the shortest delay.
	return Attempt{}, Wait{RetryAfter: time.Second}, nil
}

// allowed is the condition under which the policy lets countAttempt count
// an attempt at now on a live record: fewer than LockAfter-1 failures (the
// attempt that locks is lockAttempt's), and the last one at least
// Delay(count) ago. Delay takes few distinct values (it doubles, then
// stays at MaxDelay), so the condition is one term per value.
func (s *Store) allowed(now time.Time) expression.ConditionBuilder {
	count, last := expression.Name("failures"), expression.Name("last_failure_ms")
	p := s.policy
	end := p.LockAfter - 1 // counts [0, end) are countAttempt's
	var terms []expression.ConditionBuilder
	for lo := 0; lo < end; {
		d := p.Delay(lo)
		hi := lo + 1 // [lo, hi) share the delay d
		for hi < end && p.Delay(hi) == d {
			hi++
		}
		terms = append(terms, count.Between(expression.Value(lo), expression.Value(hi-1)).
			And(last.LessThanEqual(expression.Value(now.Add(-d).UnixMilli()))))
		lo = hi
	}
	switch len(terms) {
	case 0: // LockAfter 1: every attempt on a live record locks
		return count.LessThan(expression.Value(0))
	case 1:
		return terms[0]
	}
	return expression.Or(terms[0], terms[1], terms[2:]...)
}

// countAttempt counts an attempt on a record that is absent, or live and
// allowing it: next is the record it wrote and old the one before (nil
// when none). Refused (next nil), old is the record that refused it: live
// and not allowing an attempt, or expired.
func (s *Store) countAttempt(ctx context.Context, key map[string]types.AttributeValue, now time.Time) (next *Failures, old map[string]types.AttributeValue, err error) {
	live := expression.Name(statetable.ExpiresAt).GreaterThan(expression.Value(now.Unix()))
	e, err := expression.NewBuilder().
		WithCondition(expression.AttributeNotExists(expression.Name(statetable.PK)).Or(live.And(s.allowed(now)))).
		WithUpdate(expression.Set(expression.Name("failures"),
			expression.Plus(expression.IfNotExists(expression.Name("failures"), expression.Value(0)), expression.Value(1))).
			Set(expression.Name("last_failure_ms"), expression.Value(now.UnixMilli())).
			Set(expression.Name(statetable.ExpiresAt), expression.Value(now.Add(s.policy.Memory).Unix()))).Build()
	if err != nil {
		return nil, nil, fmt.Errorf("build failure update: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key, ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, ccf.Item, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("count attempt: %w", err)
	}
	prev, err := decodeFailures(out.Attributes)
	if err != nil {
		return nil, nil, err
	}
	return &Failures{Count: prev.Count + 1, LastMillis: now.UnixMilli()}, out.Attributes, nil
}

// replaceExpired counts an attempt as the first failure of a record that
// expired but is still stored (ok false: another attempt replaced it first).
func (s *Store) replaceExpired(ctx context.Context, key map[string]types.AttributeValue, now time.Time) (Attempt, bool, error) {
	next := Failures{Count: 1, LastMillis: now.UnixMilli()}
	expired := expression.Name(statetable.ExpiresAt).LessThanEqual(expression.Value(now.Unix()))
	ok, err := s.writeRecord(ctx, key, expired, next, now.Add(s.policy.Memory))
	if err != nil || !ok {
		return Attempt{}, false, err
	}
	return Attempt{Failures: next}, true, nil
}

// lockAttempt counts the attempt that locks: one write, conditioned on
// the record as the refused countAttempt found it (prev, live and allowing
// this attempt), sets the count to LockAfter and keeps the record
// LockMemory. ok false: the record changed meanwhile (another attempt, a
// reset), and the caller reads it again.
func (s *Store) lockAttempt(ctx context.Context, key map[string]types.AttributeValue, prev Failures, now time.Time) (Attempt, bool, error) {
	next := Failures{Count: s.policy.LockAfter, LastMillis: now.UnixMilli()}
	asFound := expression.Name("failures").Equal(expression.Value(prev.Count)).
		And(expression.Name("last_failure_ms").Equal(expression.Value(prev.LastMillis))).
		And(expression.Name(statetable.ExpiresAt).GreaterThan(expression.Value(now.Unix())))
	ok, err := s.writeRecord(ctx, key, asFound, next, now.Add(s.policy.LockMemory))
	if err != nil || !ok {
		return Attempt{}, false, err
	}
	return Attempt{Previous: prev, Failures: next}, true, nil
}

// writeRecord replaces the record at key with next, kept until expires and
// with no lock notice claimed, if cond holds (ok false when it does not).
func (s *Store) writeRecord(ctx context.Context, key map[string]types.AttributeValue, cond expression.ConditionBuilder,
	next Failures, expires time.Time) (bool, error) {
	e, err := expression.NewBuilder().WithCondition(cond).WithUpdate(
		expression.Set(expression.Name("failures"), expression.Value(next.Count)).
			Set(expression.Name("last_failure_ms"), expression.Value(next.LastMillis)).
			Set(expression.Name(statetable.ExpiresAt), expression.Value(expires.Unix())).
			Remove(expression.Name(lockNotified))).Build()
	if err != nil {
		return false, fmt.Errorf("build failure record: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key, ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if statetable.IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write failure record: %w", err)
	}
	return true, nil
}

// lockNotified marks a locked record whose lock the owner was told of
// (ClaimLockNoticeAt).
const lockNotified = "lock_notified"

// ClaimLoginLockNotice is ClaimLockNoticeAt on the subject's login record.
func (s *Store) ClaimLoginLockNotice(ctx context.Context, subject string) (bool, error) {
	return s.ClaimLockNoticeAt(ctx, FailureKey("login", subject))
}

// ClaimLockNoticeAt claims the telling of the lock of the record at k:
// it reports true to exactly one caller per lock (the first; a reset or
// expiry ends the lock, and a new lock may be claimed again), and false
// when the record is not locked. Whoever finds a record locked and not yet
// claimed (Failures.LockNotified) claims it, so the notice does not depend
// on the request that locked living to send it.
func (s *Store) ClaimLockNoticeAt(ctx context.Context, k statetable.Key) (bool, error) {
	e, err := expression.NewBuilder().
		WithCondition(expression.Name("failures").GreaterThanEqual(expression.Value(s.policy.LockAfter)).
			And(expression.Name(statetable.ExpiresAt).GreaterThan(expression.Value(s.now().Unix()))).
			And(expression.AttributeNotExists(expression.Name(lockNotified)))).
		WithUpdate(expression.Set(expression.Name(lockNotified), expression.Value(true))).Build()
	if err != nil {
		return false, fmt.Errorf("build lock notice claim: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: k.AV(), ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if statetable.IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim lock notice: %w", err)
	}
	return true, nil
}

func decodeFailures(item map[string]types.AttributeValue) (Failures, error) {
	var f Failures
	if len(item) == 0 {
		return f, nil
	}
	if err := attributevalue.UnmarshalMap(item, &f); err != nil {
		return Failures{}, fmt.Errorf("decode failure counter: %w", err)
	}
	return f, nil
}

// ClearFailures forgets the subject's failures (a success, or a reset).
func (s *Store) ClearFailures(ctx context.Context, subject string) error {
	return s.ClearFailuresAt(ctx, FailureKey("login", subject))
}

// ClearFailuresAt forgets the failures counted at k (TakeAttemptAt).
func (s *Store) ClearFailuresAt(ctx context.Context, k statetable.Key) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: k.AV(),
	}); err != nil {
		return fmt.Errorf("clear failure counter: %w", err)
	}
	return nil
}

// Kinds of email a stranger can cause. Each is capped per recipient with
// Take, the address's pseudonym standing for the subject, over MailWindow.
const (
	MailVerification      = "mail-verification"
	MailAlreadyRegistered = "mail-registered"
	MailReset             = "mail-reset"
	MailLocked            = "mail-locked"
)

// MailKinds lists them (an account's deletion forgets their counters).
var MailKinds = []string{MailVerification, MailAlreadyRegistered, MailReset, MailLocked}

// MailWindow is the window of the per-recipient email caps.
const MailWindow = time.Hour

// Limit is a per-client rate limit: at most Max requests per Window.
type Limit struct {
	Max    int
	Window time.Duration
}

// Allow counts a request of the client for the action against the limit,
// with a sliding window (the previous fixed window weighted by how much of it
// still overlaps). It returns 0 when allowed, or how long until a request
// would be allowed again if the client sent nothing more. Refused requests
// count too, so hammering does not help.
//
// It is one UpdateItem: the client's one counter of the action (RateKey)
// holds a count per fixed window, named by the window's start; the write
// adds one to the current window's, removes the one two windows old and
// returns both the current and the previous window's counts.
func (s *Store) Allow(ctx context.Context, action, client string, l Limit) (time.Duration, error) {
	now := s.now()
	w := l.Window.Milliseconds()
	start := now.UnixMilli() / w * w
	cur, prev := windowAttr(start), windowAttr(start-w)
	e, err := expression.NewBuilder().WithUpdate(
		expression.Set(expression.Name(cur), expression.Plus(expression.IfNotExists(expression.Name(cur), expression.Value(0)), expression.Value(1))).
			Set(expression.Name(statetable.ExpiresAt), expression.Value(windowExpiry(start, w))).
			Remove(expression.Name(windowAttr(start - 2*w)))).Build()
	if err != nil {
		return 0, fmt.Errorf("build rate update: %w", err)
	}
	key := RateKey(action, client).AV()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key,
		UpdateExpression: e.Update(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return 0, fmt.Errorf("count request: %w", err)
	}
	if err := s.tidyWindows(ctx, key, out.Attributes, start, w); err != nil {
		return 0, err
	}
	return retryAfter(countOf(out.Attributes, cur), countOf(out.Attributes, prev), l.Max,
		float64(now.UnixMilli()-start)/float64(w), l.Window), nil
}

// windowPrefix begins the name of a sliding counter's attribute holding
// one fixed window's count; the window's start (Unix milliseconds) follows.
const windowPrefix = "w"

func windowAttr(start int64) string { return windowPrefix + strconv.FormatInt(start, 10) }

// windowExpiry is when a sliding counter whose newest window starts at
// start (Unix milliseconds, windows of w) may go: once that window is no
// longer even the previous one (Unix seconds).
func windowExpiry(start, w int64) int64 { return (start+2*w)/1000 + 1 }

// tidyWindows keeps a sliding counter, as a write of the window starting at
// start left it (item, ALL_NEW), to what its readers need, in a second
// write made only when needed:
//   - window counts older than the previous window's, which no later write
//     names (a client back after more than two windows), go;
//   - a newer window's count (a request whose clock ran a few milliseconds
//     ahead wrote it before this write landed) stays, and so does the
//     expiry it needs: the write just made set its own window's, which may
//     be earlier, so the expiry is set back to the newest window's.
//
// The clean-up is conditioned on the expiry not being later than the one
// it sets, so that it never shortens the counter's life (should a still
// newer window have been written meanwhile, it gives way to that write's).
func (s *Store) tidyWindows(ctx context.Context, key, item map[string]types.AttributeValue, start, w int64) error {
	newest := start
	var stale []string
	for name := range item {
		ws, ok := windowStart(name)
		if !ok {
			continue
		}
		if ws < start-w {
			stale = append(stale, name)
		}
		newest = max(newest, ws)
	}
	need := windowExpiry(newest, w)
	if len(stale) == 0 && int64(countOf(item, statetable.ExpiresAt)) >= need {
		return nil
	}
	u := expression.Set(expression.Name(statetable.ExpiresAt), expression.Value(need))
	for _, n := range stale {
		u = u.Remove(expression.Name(n))
	}
	e, err := expression.NewBuilder().WithUpdate(u).
		WithCondition(expression.AttributeExists(expression.Name(statetable.PK)).
			And(expression.Name(statetable.ExpiresAt).LessThanEqual(expression.Value(need)))).Build()
	if err != nil {
		return fmt.Errorf("build rate cleanup: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key, ConditionExpression: e.Condition(),
		UpdateExpression: e.Update(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if err != nil && !statetable.IsConditionFailed(err) {
		return fmt.Errorf("tidy rate windows: %w", err)
	}
	return nil
}

// windowStart reads the start of the window an attribute of a sliding
// counter counts (ok false: not a window count).
func windowStart(name string) (int64, bool) {
	digits, ok := strings.CutPrefix(name, windowPrefix)
	if !ok {
		return 0, false
	}
	start, err := strconv.ParseInt(digits, 10, 64)
	return start, err == nil
}

func countOf(item map[string]types.AttributeValue, name string) int {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, _ := strconv.Atoi(n.Value)
	return v
}

// retryAfter decides a sliding-window request: curr requests (this one
// included) in the current window, prev in the previous one, elapsed the
// fraction of the current window gone. Estimate = curr + prev×(1−elapsed).
func retryAfter(curr, prev, limit int, elapsed float64, window time.Duration) time.Duration {
	if float64(curr)+float64(prev)*(1-elapsed) <= float64(limit) {
		return 0
	}
	// When could one more request fit, with no more sent until then?
	room := float64(limit - 1 - curr)
	if room >= 0 && prev > 0 {
		// Still in this window, once enough of the previous one has slid out.
		at := 1 - room/float64(prev)
		return ceilSecond(time.Duration((at - elapsed) * float64(window)))
	}
	// In the next window, once enough of this one has slid out.
	at := 1 - float64(limit-1)/float64(curr)
	return ceilSecond(time.Duration((1 - elapsed + at) * float64(window)))
}

func ceilSecond(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Second
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// Take takes one of the subject's l.Max slots of the fixed window of
// l.Window that now falls in, for the action, and reports whether it got
// one. Unlike Allow, a refused call counts nothing: a capped sender (the
// per-address email caps) sends the first l.Max of each window, so whoever
// floods an address cannot keep it from ever receiving mail, and the links
// those first emails carry stay usable. It keeps its counts in the same
// one item per action and subject as Allow.
func (s *Store) Take(ctx context.Context, action, subject string, l Limit) (bool, error) {
	now := s.now()
	w := l.Window.Milliseconds()
	start := now.UnixMilli() / w * w
	cur := windowAttr(start)
	e, err := expression.NewBuilder().
		WithCondition(expression.AttributeNotExists(expression.Name(cur)).
			Or(expression.Name(cur).LessThan(expression.Value(l.Max)))).
		WithUpdate(expression.Set(expression.Name(cur), expression.Plus(expression.IfNotExists(expression.Name(cur), expression.Value(0)), expression.Value(1))).
			Set(expression.Name(statetable.ExpiresAt), expression.Value(windowExpiry(start, w))).
			Remove(expression.Name(windowAttr(start - 2*w)))).Build()
	if err != nil {
		return false, fmt.Errorf("build slot update: %w", err)
	}
	key := RateKey(action, subject).AV()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key,
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValues: types.ReturnValueAllNew,
	})
	if statetable.IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take slot: %w", err)
	}
	if err := s.tidyWindows(ctx, key, out.Attributes, start, w); err != nil {
		return false, err
	}
	return true, nil
}

// ClearFailuresItem is ClearFailures as an item of a caller's transaction
// (a password reset clears the lock in the same write that sets the password).
func (s *Store) ClearFailuresItem(subject string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName: aws.String(s.table), Key: FailureKey("login", subject).AV(),
	}}
}

// ForgetClient deletes a subject's counter of an action (Allow's, Take's
// and Gate's: one item per action and subject), as deleting the account
// a pseudonym stands for requires. It returns how many it deleted (0 or 1).
func (s *Store) ForgetClient(ctx context.Context, action, subject string) (int, error) {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table),
		Key: RateKey(action, subject).AV(), ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return 0, fmt.Errorf("delete rate counter: %w", err)
	}
	if out.Attributes == nil {
		return 0, nil
	}
	return 1, nil
}
