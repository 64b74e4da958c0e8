package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Recovery codes: RecoveryCodes of them, each RecoveryCodeBits random bits
// shown as six groups of four lower-case base32 characters
// ("abcd-efgh-ijkl-mnop-qrst-uvwx"). Only the SHA-256 of each (with the
// account id, so equal codes of two accounts hash apart) is stored. A fast
// hash is enough: with 120 random bits (ASVS 5.0 6.5.2 asks for 112 or more
// before a standard hash may be used), trying codes against a stolen hash
// costs about 2^120 SHA-256 computations, where argon2id is what a
// low-entropy secret (a password) needs; a slow hash would only make each
// login with a code cost ten argon2id verifications (a code has no id to
// pick its hash by).
const (
	RecoveryCodes    = 10
	RecoveryCodeBits = 120
	// FewCodesLeft is the count at or below which a login with a recovery
	// code warns its owner (in the answer and by email).
	FewCodesLeft = 3
	// MaxCodeLength bounds a submitted code (TOTP or recovery), in bytes.
	MaxCodeLength = 64
)

var codeEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// RecoverySet is an account's recovery codes as stored: their hashes.
type RecoverySet struct {
	Hashes      []string  `dynamodbav:"hashes,stringset,omitempty"`
	GeneratedAt time.Time `dynamodbav:"generated_at"`
}

// newRecoveryCode returns one code as shown: 24 characters in 6 groups.
func newRecoveryCode() string {
	raw := codeEncoding.EncodeToString(randomBytes(RecoveryCodeBits / 8))
	groups := make([]string, 0, len(raw)/4)
	for i := 0; i < len(raw); i += 4 {
		groups = append(groups, raw[i:i+4])
	}
	return strings.Join(groups, "-")
}

// NormalizeCode reads a recovery code as typed: case, spaces and dashes
// do not matter.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, code)
}

// recoveryHash is the stored form of a recovery code of the account.
func recoveryHash(accountID, code string) string {
	sum := sha256.Sum256([]byte("atrium-recovery-code-v1\x00" + accountID + "\x00" + NormalizeCode(code)))
	return hex.EncodeToString(sum[:])
}

// GenerateRecoveryCodes replaces the account's recovery codes with
// RecoveryCodes new ones, only while the account is active, and returns
// them: the only time they are ever seen.
func (s *Store) GenerateRecoveryCodes(ctx context.Context, accountID string) ([]string, error) {
	codes := make([]string, RecoveryCodes)
	set := RecoverySet{GeneratedAt: s.Now()}
	for i := range codes {
		codes[i] = newRecoveryCode()
		set.Hashes = append(set.Hashes, recoveryHash(accountID, codes[i]))
	}
	item, err := attributevalue.MarshalMap(set)
	if err != nil {
		return nil, fmt.Errorf("encode recovery codes: %w", err)
	}
	for k, v := range RecoveryKey(identity.AccountPartition(accountID)).AV() {
		item[k] = v
	}
	active, err := identity.AccountIn(s.Name, accountID, identity.StatusActive)
	if err != nil {
		return nil, err
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item}}, active,
	}})
	if statetable.IsConditionFailed(err) {
		return nil, identity.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("put recovery codes: %w", err)
	}
	return codes, nil
}

// Recovery returns the account's recovery set (no hashes: zero when none).
func (s *Store) Recovery(ctx context.Context, accountID string) (RecoverySet, bool, error) {
	var set RecoverySet
	found, err := s.Get(ctx, RecoveryKey(identity.AccountPartition(accountID)), &set)
	if err != nil {
		return RecoverySet{}, false, fmt.Errorf("recovery codes: %w", err)
	}
	return set, found, nil
}

// CheckRecoveryCode returns the write that uses up one of the account's
// recovery codes: the code's hash is removed from the set on condition
// that it is still there, so two requests with one code, however
// concurrent, use it once. The code's presence is not read first: the
// condition is the check.
func (s *Store) CheckRecoveryCode(accountID, code string) (*Use, error) {
	n := NormalizeCode(code)
	if len(code) > MaxCodeLength || len(n) != RecoveryCodeBits/5 {
		return nil, ErrWrongCode
	}
	h := recoveryHash(accountID, n)
	e, err := expression.NewBuilder().
		WithCondition(expression.Contains(expression.Name(attrHashes), h)).
		WithUpdate(expression.Delete(expression.Name(attrHashes), expression.Value(&types.AttributeValueMemberSS{Value: []string{h}}))).
		Build()
	if err != nil {
		return nil, fmt.Errorf("build recovery use: %w", err)
	}
	return &Use{Item: types.TransactWriteItem{Update: statetable.Update(s.Name, RecoveryKey(identity.AccountPartition(accountID)), e)}}, nil
}

// RecoveryLeft is how many unused recovery codes the account has.
func (s *Store) RecoveryLeft(ctx context.Context, accountID string) (int, error) {
	set, _, err := s.Recovery(ctx, accountID)
	return len(set.Hashes), err
}

// RecoveryRead is the read of an account's recovery set as one of the
// reads a caller makes together (statetable.GetMany).
type RecoveryRead struct {
	statetable.Read
	set RecoverySet
}

// ReadRecovery prepares the read of the account's recovery set.
func ReadRecovery(accountID string) *RecoveryRead {
	r := &RecoveryRead{}
	r.Key, r.Into = RecoveryKey(identity.AccountPartition(accountID)), &r.set
	return r
}

// Left is how many unused recovery codes the read found (RecoveryLeft).
func (r *RecoveryRead) Left() int {
	if !r.Found {
		return 0
	}
	return len(r.set.Hashes)
}
