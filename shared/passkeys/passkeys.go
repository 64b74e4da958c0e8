// Package passkeys owns an account's passkeys: WebAuthn credentials that
// serve both as a second factor after
// a password and as a passwordless first factor, and the single-use
// challenges of their ceremonies.
//
// One credential model serves both uses: every passkey is registered as a
// discoverable credential with user verification, so the same passkey can
// answer a second-factor challenge (the account is known) and a
// passwordless one (the account is found from the user handle the
// authenticator returns). The user handle is a random 32-byte id per
// account, never its email address or account id.
//
// A ceremony's options are stored as a challenge item (keyed by the
// challenge's SHA-256, expiring after ChallengeTTL) and consumed by one
// conditional delete before anything is verified, so a replayed or a
// concurrent second finish of the same ceremony fails.
//
// This package stores, lists, counts, erases and exports passkeys, and
// links no WebAuthn library: every function that only reads them (a
// step-up check, the export, the deletion) stays small. The ceremonies,
// which verify with github.com/go-webauthn/webauthn, are package
// passkeys/ceremony, which only the auth function links.
package passkeys

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
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

// Defaults and bounds.
const (
	// DefaultChallengeTTL is how long a ceremony's challenge can be used.
	DefaultChallengeTTL = 5 * time.Minute
	// DefaultMaxPerAccount is how many passkeys an account may have.
	DefaultMaxPerAccount = 20
	// MaxNameLength bounds a passkey's name, in characters.
	MaxNameLength = 64
	// MaxCredentialJSON bounds the credential a browser sends back
	// (PublicKeyCredential.toJSON()), in bytes; an attestation with a
	// certificate chain fits easily.
	MaxCredentialJSON = 12 << 10
	// IDPrefix begins every passkey's id.
	IDPrefix = "pkey"
	// HandleBytes is the length of a user handle (WebAuthn allows 64).
	HandleBytes = 32
)

// Ceremony purposes: a challenge is consumed only by the purpose, and the
// binding (the session, or the login's pending second step), it was made for.
const (
	PurposeRegister = "register" // binding: the session that registers
	PurposeLogin    = "login"    // passwordless: no account, no binding
	// PurposeFactor: a second factor after a password (POST /v1/login/mfa,
	// where the login's mfa_token is consumed in the same transaction) or
	// a step-up of a session; bound to the account.
	PurposeFactor = "factor"
)

// Errors.
var (
	// ErrNotFound: no such passkey of the account.
	ErrNotFound = statetable.NotFound("passkey not found")
	// ErrRejected: the ceremony failed (see Rejection for why).
	ErrRejected = errors.New("passkey rejected")
	// ErrLimit: the account has as many passkeys as it may.
	ErrLimit = errors.New("passkey limit reached")
	// ErrNoPasskeys: the account has no passkey to authenticate with.
	ErrNoPasskeys = errors.New("no passkey")
	// ErrAccount: the account is not active (being deleted, or gone).
	ErrAccount = errors.New("account not active")
)

// Rejection is why a ceremony failed: a Reason for the event log (never
// shown to the client, which sees one uniform answer) and the cause.
type Rejection struct {
	Reason string
	Err    error
}

func (r *Rejection) Error() string {
	if r.Err == nil {
		return "passkey rejected: " + r.Reason
	}
	return "passkey rejected: " + r.Reason + ": " + r.Err.Error()
}

// Is makes every Rejection an ErrRejected.
func (r *Rejection) Is(target error) bool { return target == ErrRejected }

func (r *Rejection) Unwrap() error { return r.Err }

// Reasons of a Rejection.
const (
	ReasonMalformed  = "malformed"          // the credential JSON could not be parsed
	ReasonChallenge  = "challenge"          // unknown, expired, used, or of another ceremony
	ReasonUnknown    = "unknown_credential" // not a passkey of the account (or the handle of none)
	ReasonVerify     = "verification"       // origin, RP ID, flags, signature, attestation
	ReasonSignCount  = "sign_count"         // the signature counter went backwards: maybe a clone
	ReasonDuplicate  = "duplicate"          // the credential is registered already
	ReasonNotAllowed = "not_allowed"        // account not active
)

// Reject is a Rejection for reason, caused by err.
func Reject(reason string, err error) error { return &Rejection{Reason: reason, Err: err} }

// ReasonOf returns a rejection's reason ("" for other errors).
func ReasonOf(err error) string {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// Store reads an account's passkeys (the list, the export) and erases
// them; it needs no relying party.
type Store struct {
	statetable.Table
}

// NewStore returns a Store over the state table; now may be nil (time.Now).
func NewStore(db statetable.DynamoDB, table string, now func() time.Time) *Store {
	return &Store{statetable.NewTable(db, table, now)}
}

// Record is a passkey as stored (package ceremony verifies with it).
type Record struct {
	ID                string     `dynamodbav:"id"`
	AccountID         string     `dynamodbav:"account_id"`
	Name              string     `dynamodbav:"name"`
	CredentialID      []byte     `dynamodbav:"credential_id"`
	PublicKey         []byte     `dynamodbav:"public_key"` // COSE_Key
	AAGUID            []byte     `dynamodbav:"aaguid,omitempty"`
	AttestationFormat string     `dynamodbav:"attestation_format,omitempty"`
	Transports        []string   `dynamodbav:"transports,omitempty"`
	SignCount         uint32     `dynamodbav:"sign_count"`
	UserPresent       bool       `dynamodbav:"user_present"`
	UserVerified      bool       `dynamodbav:"user_verified"`
	BackupEligible    bool       `dynamodbav:"backup_eligible"`
	BackupState       bool       `dynamodbav:"backup_state"`
	CreatedAt         time.Time  `dynamodbav:"created_at"`
	LastUsedAt        *time.Time `dynamodbav:"last_used_at,omitempty"`
	// SignCountRegressedAt is when an assertion last came with a signature
	// counter not above the stored one (refused: a possible clone).
	SignCountRegressedAt *time.Time `dynamodbav:"sign_count_regressed_at,omitempty"`
}

// Passkey is a passkey as its owner sees it (the list, the export): never
// its public key.
type Passkey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	// BackupEligible: the passkey can be synced (a multi-device credential);
	// BackedUp: it is synced or backed up now (as last reported).
	BackupEligible bool     `json:"backup_eligible"`
	BackedUp       bool     `json:"backed_up"`
	Transports     []string `json:"transports"`
	// SignCountRegressedAt: an assertion came with a signature counter that
	// did not increase (refused; the authenticator may have been cloned).
	SignCountRegressedAt *time.Time `json:"sign_count_regressed_at"`
}

// View is the passkey as its owner sees it.
func (r *Record) View() Passkey {
	p := Passkey{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt.UTC(), BackupEligible: r.BackupEligible,
		BackedUp: r.BackupState, Transports: slices.Clone(r.Transports)}
	if p.Transports == nil {
		p.Transports = []string{}
	}
	if r.LastUsedAt != nil {
		t := r.LastUsedAt.UTC()
		p.LastUsedAt = &t
	}
	if r.SignCountRegressedAt != nil {
		t := r.SignCountRegressedAt.UTC()
		p.SignCountRegressedAt = &t
	}
	return p
}

// userItem is the account's WebAuthn user as stored.
type userItem struct {
	Handle string `dynamodbav:"handle"` // unpadded base64url
	Count  int    `dynamodbav:"count"`
}

// handleItem is the index from a handle to its account.
type handleItem struct {
	AccountID string `dynamodbav:"account_id"`
}

// ValidName checks a passkey's name: web.Label's rule (1 to MaxNameLength
// printable characters), given already trimmed.
func ValidName(name string) bool {
	trimmed, ok := web.Label(name, MaxNameLength)
	return ok && trimmed == name
}

// Records reads the account's passkeys as stored, oldest first.
func (s *Store) Records(ctx context.Context, accountID string) ([]*Record, error) {
	out, err := statetable.Items[Record](ctx, s.Table, identity.AccountPartition(accountID), CredentialPrefix, "passkey")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Record) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// List returns the account's passkeys, oldest first.
func (s *Store) List(ctx context.Context, accountID string) ([]Passkey, error) {
	recs, err := s.Records(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]Passkey, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.View())
	}
	return out, nil
}

// Has reports whether the account has a passkey.
func (s *Store) Has(ctx context.Context, accountID string) (bool, error) {
	var u userItem
	found, err := s.Get(ctx, UserKey(accountID), &u)
	if err != nil {
		return false, fmt.Errorf("read passkey user: %w", err)
	}
	return found && u.Count > 0, nil
}

// HandleOf returns the account's user handle, creating it (and its index
// item) on first use, only while the account is active.
func (s *Store) HandleOf(ctx context.Context, accountID string) ([]byte, error) {
	for range 3 {
		var u userItem
		found, err := s.Get(ctx, UserKey(accountID), &u)
		if err != nil {
			return nil, fmt.Errorf("read passkey user: %w", err)
		}
		if found {
			h, err := base64.RawURLEncoding.DecodeString(u.Handle)
			if err != nil {
				return nil, fmt.Errorf("decode user handle: %w", err)
			}
			return h, nil
		}
		h := make([]byte, HandleBytes)
		_, _ = rand.Read(h)
		enc := base64.RawURLEncoding.EncodeToString(h)
		active, err := identity.AccountIn(s.Name, accountID, identity.StatusActive)
		if err != nil {
			return nil, err
		}
		userAV, err := attributevalue.MarshalMap(userItem{Handle: enc})
		if err != nil {
			return nil, fmt.Errorf("encode passkey user: %w", err)
		}
		idxAV, err := attributevalue.MarshalMap(handleItem{AccountID: accountID})
		if err != nil {
			return nil, fmt.Errorf("encode handle index: %w", err)
		}
		Maps(userAV, UserKey(accountID))
		Maps(idxAV, HandleKey(enc))
		_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(s.Name), Item: userAV, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{Put: &types.Put{TableName: aws.String(s.Name), Item: idxAV, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			active,
		}})
		if failed, ok := statetable.CancelledByCondition(err); ok {
			if failed[2] {
				return nil, ErrAccount
			}
			continue // created concurrently (or, vanishingly rarely, a handle collision): read again
		}
		if err != nil {
			return nil, fmt.Errorf("create passkey user: %w", err)
		}
		return h, nil
	}
	return nil, errors.New("create passkey user: lost every race")
}

// Maps adds a key's attributes to an item.
func Maps(item map[string]types.AttributeValue, k statetable.Key) {
	for n, v := range k.AV() {
		item[n] = v
	}
}

// Rename gives one of the account's passkeys a new name.
func (s *Store) Rename(ctx context.Context, accountID, id, name string) (*Passkey, error) {
	if !ids.Valid(IDPrefix, id) {
		return nil, ErrNotFound
	}
	e, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name(statetable.PK))).
		WithUpdate(expression.Set(expression.Name("name"), expression.Value(name))).Build()
	if err != nil {
		return nil, fmt.Errorf("build rename: %w", err)
	}
	u := statetable.Update(s.Name, CredentialKey(accountID, id), e)
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key,
		ConditionExpression: u.ConditionExpression, UpdateExpression: u.UpdateExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
		ReturnValues: types.ReturnValueAllNew})
	if statetable.IsConditionFailed(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("rename passkey: %w", err)
	}
	var r Record
	if err := attributevalue.UnmarshalMap(out.Attributes, &r); err != nil {
		return nil, fmt.Errorf("decode passkey: %w", err)
	}
	v := r.View()
	return &v, nil
}

// Remove deletes one of the account's passkeys and returns it as it was.
func (s *Store) Remove(ctx context.Context, accountID, id string) (*Passkey, error) {
	if !ids.Valid(IDPrefix, id) {
		return nil, ErrNotFound
	}
	r, err := statetable.Item[Record](ctx, s.Table, CredentialKey(accountID, id), "read passkey", ErrNotFound)
	if err != nil {
		return nil, err
	}
	dec, err := expression.NewBuilder().
		WithCondition(expression.Name("count").GreaterThan(expression.Value(0))).
		WithUpdate(expression.Add(expression.Name("count"), expression.Value(-1))).Build()
	if err != nil {
		return nil, fmt.Errorf("build passkey count: %w", err)
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.Name), Key: CredentialKey(accountID, id).AV(),
			ConditionExpression: aws.String("attribute_exists(pk)")}},
		{Update: statetable.Update(s.Name, UserKey(accountID), dec)},
		// Its credential id's index, only this account's (a passkey
		// registered before the index existed has none).
		{Delete: &types.Delete{TableName: aws.String(s.Name), Key: CredentialIDKey(r.CredentialID).AV(),
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR account_id = :a"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: accountID}}}},
	}})
	if statetable.IsConditionFailed(err) {
		return nil, ErrNotFound // removed meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("delete passkey: %w", err)
	}
	v := r.View()
	return &v, nil
}

// ExistingHandle returns the account's user handle, or nil if it has none.
func (s *Store) ExistingHandle(ctx context.Context, accountID string) ([]byte, error) {
	var u userItem
	found, err := s.Get(ctx, UserKey(accountID), &u)
	if err != nil {
		return nil, fmt.Errorf("read passkey user: %w", err)
	}
	if !found {
		return nil, nil
	}
	h, err := base64.RawURLEncoding.DecodeString(u.Handle)
	if err != nil {
		return nil, fmt.Errorf("decode user handle: %w", err)
	}
	return h, nil
}

// AccountOfHandle returns the account a user handle (as an authenticator
// returned it) belongs to, found false for a handle of no account.
func (s *Store) AccountOfHandle(ctx context.Context, handle []byte) (accountID string, found bool, err error) {
	var idx handleItem
	found, err = s.Get(ctx, HandleKey(base64.RawURLEncoding.EncodeToString(handle)), &idx)
	if err != nil {
		return "", false, fmt.Errorf("read handle index: %w", err)
	}
	return idx.AccountID, found, nil
}
