// Package mfa owns an account's second factors: TOTP authenticators
// (RFC 6238, their secrets sealed with AES-256-GCM under a key only the
// auth function can read), single-use recovery codes (stored as SHA-256
// hashes), the short-lived login challenges a password opens (mfa_token,
// stored as a hash), the account's consecutive second-factor failures, and
// the step-up rule every sensitive change checks. Passkeys (shared/passkeys)
// plug into the same login and step-up routes.
//
// Every item lives in the account's partition (keys.go), under conditions
// this package alone spells.
package mfa

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Methods of proving a second factor, as the API names them (login's
// "methods", a session's "amr").
const (
	MethodPassword     = "password"
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
	// MethodPasskey is a passkey (shared/passkeys).
	MethodPasskey = "passkey"
)

// SecondFactor reports whether a method is a second factor (anything but
// the password).
func SecondFactor(method string) bool {
	return method == MethodTOTP || method == MethodRecoveryCode || method == MethodPasskey
}

// Factor statuses.
const (
	StatusPending = "pending" // enrolled, not yet confirmed with a first code
	StatusActive  = "active"
)

// Bounds.
const (
	// PendingTTL is how long an unconfirmed TOTP enrolment waits for its
	// first code.
	PendingTTL = 15 * time.Minute
	// MaxFactors bounds an account's TOTP factors, pending ones included.
	MaxFactors = 5
	// MaxNameLength bounds a factor's name, in characters.
	MaxNameLength = 64
	// DefaultName names a factor enrolled without a name.
	DefaultName = "Authenticator app"
)

// ErrNotFound reports a missing factor, challenge or recovery set.
var ErrNotFound = statetable.NotFound("second factor not found")

// ErrTooMany reports an account at MaxFactors.
var ErrTooMany = errors.New("mfa: too many factors")

// ErrWrongCode reports a code that is wrong, outside its window or used.
var ErrWrongCode = errors.New("mfa: wrong, expired or used code")

// Factor is a second factor as stored. The TOTP secret is only ever
// stored sealed.
type Factor struct {
	ID          string     `dynamodbav:"id"`
	AccountID   string     `dynamodbav:"account_id"`
	Kind        string     `dynamodbav:"kind"` // MethodTOTP
	Name        string     `dynamodbav:"name"`
	Status      string     `dynamodbav:"status"`
	CreatedAt   time.Time  `dynamodbav:"created_at"`
	ConfirmedAt *time.Time `dynamodbav:"confirmed_at,omitempty"`
	LastUsedAt  *time.Time `dynamodbav:"last_used_at,omitempty"`
	// LastStep is the last TOTP time step accepted: a code of that step or
	// an earlier one is refused (RFC 6238 §5.2: one use per code).
	LastStep   int64  `dynamodbav:"last_step"`
	Sealed     []byte `dynamodbav:"sealed_secret"`
	KeyVersion string `dynamodbav:"key_version"`
	// SessionID is, while pending, the session that enrolled it: only
	// that session may confirm it (pending.go).
	SessionID string `dynamodbav:"session_id,omitempty"`
	// WrongCodes counts, while pending, wrong confirmation codes: at
	// MaxPendingWrongCodes the enrolment is dead (pending.go).
	WrongCodes int `dynamodbav:"wrong_codes,omitempty"`
}

// Attribute names this package's conditions spell.
const (
	attrStatus   = "status"
	attrLastStep = "last_step"
	attrLastUsed = "last_used_at"
	attrHashes   = "hashes"
	attrSecret   = "secret_hash"
	attrSession  = "session_id"
	attrWrong    = "wrong_codes"
)

// Store reads and writes an account's second factors.
type Store struct {
	statetable.Table
	sealer *Sealer // nil in functions that only check step-ups
	issuer string
}

// NewStore returns a Store over the state table. sealer may be nil for a
// function that only checks step-ups (it cannot enrol or verify TOTP);
// now may be nil (time.Now).
func NewStore(db statetable.DynamoDB, table string, sealer *Sealer, now func() time.Time) *Store {
	return &Store{Table: statetable.NewTable(db, table, now), sealer: sealer, issuer: "Atrium"}
}

// Factors lists the account's factors, pending ones unexpired, oldest first.
func (s *Store) Factors(ctx context.Context, accountID string) ([]*Factor, error) {
	out, err := statetable.Items[Factor](ctx, s.Table, identity.AccountPartition(accountID), factorPrefix, "factor")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Factor) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Active returns the account's active factors.
func Active(list []*Factor) []*Factor {
	var out []*Factor
	for _, f := range list {
		if f.Status == StatusActive {
			out = append(out, f)
		}
	}
	return out
}

// CleanName validates a factor's name: printable text of at most
// MaxNameLength characters; "" takes DefaultName.
func CleanName(name string) (string, bool) {
	if strings.TrimSpace(name) == "" {
		return DefaultName, true
	}
	if name, ok := web.Label(name, MaxNameLength); ok {
		return name, true
	}
	return "", false
}

// Enrolment is a new TOTP factor and its secret, shown to its owner once.
type Enrolment struct {
	Factor *Factor
	Secret []byte
	URI    string
}

// EnrolTOTP creates a pending TOTP factor with a new secret, only while
// the account is active; it expires unless confirmed within PendingTTL,
// and only sessionID (the session enrolling it) may confirm it.
// label is what the authenticator app shows beside the issuer (the
// account's email address).
func (s *Store) EnrolTOTP(ctx context.Context, accountID, sessionID, label, name string) (*Enrolment, error) {
	if s.sealer == nil {
		return nil, errors.New("mfa: enrol without a sealing key")
	}
	list, err := s.Factors(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if len(list) >= MaxFactors {
		return nil, ErrTooMany
	}
	now := s.Now()
	secret := randomBytes(SecretBytes)
	f := &Factor{ID: ids.New("mfa"), AccountID: accountID, Kind: MethodTOTP, Name: name, Status: StatusPending,
		CreatedAt: now, LastStep: -1, KeyVersion: KeyVersion, SessionID: sessionID}
	f.Sealed = s.sealer.Seal(accountID, f.ID, secret)
	item, err := attributevalue.MarshalMap(f)
	if err != nil {
		return nil, fmt.Errorf("encode factor: %w", err)
	}
	for k, v := range FactorKey(identity.AccountPartition(accountID), f.ID).AV() {
		item[k] = v
	}
	item[statetable.ExpiresAt] = statetable.Epoch(now.Add(PendingTTL))
	active, err := identity.AccountIn(s.Name, accountID, identity.StatusActive)
	if err != nil {
		return nil, err
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item}}, active,
	}})
	if statetable.IsConditionFailed(err) {
		return nil, identity.ErrNotFound // being deleted
	}
	if err != nil {
		return nil, fmt.Errorf("put factor: %w", err)
	}
	return &Enrolment{Factor: f, Secret: secret, URI: URI(s.issuer, label, secret)}, nil
}

// Factor returns one of the account's factors (a pending one only while
// unexpired).
func (s *Store) Factor(ctx context.Context, accountID, factorID string) (*Factor, error) {
	return statetable.Item[Factor](ctx, s.Table, FactorKey(identity.AccountPartition(accountID), factorID), "factor", ErrNotFound)
}

// Use is a verified code's conditional write: committed alone, or in one
// transaction with what it unlocks (a login challenge's consumption), so
// that a code and its challenge are used together or not at all.
type Use struct {
	Item types.TransactWriteItem
	// Factor is the TOTP factor the code belonged to ("" for a recovery code).
	Factor string
}

// CheckTOTP finds the account's active TOTP factor whose code, within one
// step of now, is code and later than the factor's last used step, and
// returns the write that marks that step used (conditional on no later or
// equal step having been used meanwhile: a replay, even a concurrent one,
// fails). ErrWrongCode when no factor matches.
func (s *Store) CheckTOTP(ctx context.Context, accountID, code string) (*Use, error) {
	list, err := s.Factors(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return s.checkTOTP(accountID, Active(list), code)
}

// CheckPendingTOTP is CheckTOTP for the confirmation of a pending factor
// by the session that enrolled it: the write also turns it active.
// ErrNotFound for a factor not pending, another session's, or dead of
// wrong codes (PendingWrongCode).
func (s *Store) CheckPendingTOTP(ctx context.Context, accountID, sessionID, factorID, code string) (*Use, error) {
	f, err := s.PendingFactor(ctx, accountID, sessionID, factorID)
	if err != nil {
		return nil, err
	}
	return s.checkTOTP(accountID, []*Factor{f}, code)
}

func (s *Store) checkTOTP(accountID string, list []*Factor, code string) (*Use, error) {
	if s.sealer == nil {
		return nil, errors.New("mfa: verify without a sealing key")
	}
	if !ValidCode(code) {
		return nil, ErrWrongCode
	}
	now := s.Now()
	for _, f := range list {
		if f.Kind != MethodTOTP {
			continue
		}
		secret, err := s.sealer.Open(accountID, f.ID, f.Sealed)
		if err != nil {
			return nil, fmt.Errorf("factor %s: %w", f.ID, err)
		}
		step, ok := matchStep(secret, code, now, f.LastStep)
		clear(secret)
		if !ok {
			continue
		}
		cond := expression.Name(attrLastStep).LessThan(expression.Value(step))
		update := expression.Set(expression.Name(attrLastStep), expression.Value(step)).
			Set(expression.Name(attrLastUsed), expression.Value(now.Format(time.RFC3339Nano)))
		if f.Status == StatusPending {
			cond = cond.And(expression.Name(attrStatus).Equal(expression.Value(StatusPending))).
				And(expression.Name(statetable.ExpiresAt).GreaterThan(expression.Value(now.Unix()))).
				And(expression.Name(attrSession).Equal(expression.Value(f.SessionID))).
				And(pendingAlive())
			update = update.Set(expression.Name(attrStatus), expression.Value(StatusActive)).
				Set(expression.Name("confirmed_at"), expression.Value(now.Format(time.RFC3339Nano))).
				Remove(expression.Name(statetable.ExpiresAt))
		} else {
			cond = cond.And(expression.Name(attrStatus).Equal(expression.Value(StatusActive)))
		}
		e, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
		if err != nil {
			return nil, fmt.Errorf("build code use: %w", err)
		}
		return &Use{Item: types.TransactWriteItem{Update: statetable.Update(s.Name,
			FactorKey(identity.AccountPartition(accountID), f.ID), e)}, Factor: f.ID}, nil
	}
	return nil, ErrWrongCode
}

// ValidCode reports whether code has a TOTP code's shape (Digits digits).
func ValidCode(code string) bool {
	if len(code) != Digits {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Commit writes uses and extra items in one transaction. ErrWrongCode when
// a use's condition failed (the code was used meanwhile); the index of a
// failed extra item is reported through failedExtra.
func (s *Store) Commit(ctx context.Context, uses []*Use, extra ...types.TransactWriteItem) (failedExtra int, err error) {
	items := make([]types.TransactWriteItem, 0, len(uses)+len(extra))
	for _, u := range uses {
		items = append(items, u.Item)
	}
	items = append(items, extra...)
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if failed, ok := statetable.CancelledByCondition(err); ok {
		for i, f := range failed {
			if f && i >= len(uses) {
				return i - len(uses), ErrConditionFailed
			}
		}
		return -1, ErrWrongCode
	}
	if err != nil {
		return -1, fmt.Errorf("use code: %w", err)
	}
	return -1, nil
}

// ErrConditionFailed reports that an extra item of Commit failed its condition.
var ErrConditionFailed = errors.New("mfa: condition failed")

// Remove deletes one of the account's factors and reports whether it was
// there, and how many second-factor methods the account has left (its
// active TOTP factors, and others', such as passkeys). When none is left,
// the recovery codes go too: they stand in for a factor and are
// meaningless without one.
func (s *Store) Remove(ctx context.Context, accountID, factorID string, others ...OtherFactors) (found bool, left int, err error) {
	out, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Name),
		Key: FactorKey(identity.AccountPartition(accountID), factorID).AV(), ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return false, 0, fmt.Errorf("delete factor: %w", err)
	}
	list, err := s.Factors(ctx, accountID)
	if err != nil {
		return out.Attributes != nil, 0, err
	}
	left = len(Active(list))
	for _, o := range others {
		m, err := o(ctx, accountID)
		if err != nil {
			return out.Attributes != nil, 0, err
		}
		left += len(m)
	}
	if left == 0 {
		if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Name),
			Key: RecoveryKey(identity.AccountPartition(accountID)).AV()}); err != nil {
			return out.Attributes != nil, 0, fmt.Errorf("delete recovery codes: %w", err)
		}
	}
	return out.Attributes != nil, left, nil
}
