package mfa

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// ChallengeTTL is how long a login challenge (mfa_token) waits for its
// second factor.
const ChallengeTTL = 5 * time.Minute

// MaxTokenLength bounds an mfa_token as submitted.
const MaxTokenLength = identity.MaxTokenLength

// Challenge is a login whose password proved right, waiting for a second
// factor. Only the SHA-256 of its token's secret is stored.
type Challenge struct {
	ID         string    `dynamodbav:"id"`
	AccountID  string    `dynamodbav:"account_id"`
	SecretHash string    `dynamodbav:"secret_hash"`
	CreatedAt  time.Time `dynamodbav:"created_at"`
	ExpiresAt  int64     `dynamodbav:"expires_at"`
	// PasswordSetMillis is the login record's password_set_ms when the
	// password proved right: a reset or change since then kills the
	// challenge, so it is bound to that password's success.
	PasswordSetMillis int64 `dynamodbav:"password_set_ms"`
	// PreviousFailures is the address's failed-login count before the
	// password proved right, for the "new sign-in after failures" notice
	// the finished login sends.
	PreviousFailures int  `dynamodbav:"previous_failures"`
	NotifyNextLogin  bool `dynamodbav:"notify_next_login,omitempty"`
}

// An mfa_token reads "<account id>.<challenge id>.<secret>", like a
// session token: the ids find the item, the secret proves possession.
func challengeToken(accountID, id, secret string) string { return accountID + "." + id + "." + secret }

// ParseToken splits an mfa_token; ok is false for anything not shaped
// like one.
func ParseToken(tok string) (accountID, challengeID, secret string, ok bool) {
	if len(tok) > MaxTokenLength {
		return "", "", "", false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || !ids.Valid("acct", parts[0]) || !ids.Valid("mfac", parts[1]) || len(parts[2]) != 43 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// NewChallenge stores a login challenge for the account, only while it is
// active, and returns it with its token (shown once). extra are other
// owners' writes made in the same transaction (the login clears its
// address's failures there); they must not fail a condition.
func (s *Store) NewChallenge(ctx context.Context, c Challenge, extra ...types.TransactWriteItem) (*Challenge, string, error) {
	now := s.Now()
	secret := ids.Secret()
	c.ID, c.SecretHash, c.CreatedAt, c.ExpiresAt = ids.New("mfac"), ids.Hash(secret), now, now.Add(ChallengeTTL).Unix()
	item, err := attributevalue.MarshalMap(c)
	if err != nil {
		return nil, "", fmt.Errorf("encode challenge: %w", err)
	}
	for k, v := range ChallengeKey(identity.AccountPartition(c.AccountID), c.ID).AV() {
		item[k] = v
	}
	items := append([]types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.Name), Item: item}},
		mustAccountActive(s.Name, c.AccountID)}, extra...)
	if _, err := s.Commit(ctx, nil, items...); err != nil {
		if errors.Is(err, ErrConditionFailed) {
			return nil, "", identity.ErrNotFound
		}
		return nil, "", fmt.Errorf("put challenge: %w", err)
	}
	return &c, challengeToken(c.AccountID, c.ID, secret), nil
}

func mustAccountActive(table, accountID string) types.TransactWriteItem {
	item, err := identity.AccountIn(table, accountID, identity.StatusActive)
	if err != nil {
		panic(err) // a status is given: cannot fail
	}
	return item
}

// LookupChallenge returns the live challenge a token belongs to, or
// ErrNotFound (unknown, expired, used, or a wrong secret).
func (s *Store) LookupChallenge(ctx context.Context, token string) (*Challenge, error) {
	accountID, id, secret, ok := ParseToken(token)
	if !ok {
		return nil, ErrNotFound
	}
	c, err := statetable.Item[Challenge](ctx, s.Table, ChallengeKey(identity.AccountPartition(accountID), id), "challenge", ErrNotFound)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(c.SecretHash), []byte(ids.Hash(secret))) != 1 || c.AccountID != accountID {
		return nil, ErrNotFound
	}
	return c, nil
}

// ConsumeChallenge is the item of a finishing login's transaction that
// deletes the challenge, on condition that it is still there and
// unexpired: two finishes of one challenge, however concurrent, make one
// session.
func (s *Store) ConsumeChallenge(c *Challenge) (types.TransactWriteItem, error) {
	e, err := expression.NewBuilder().WithCondition(
		expression.Name(attrSecret).Equal(expression.Value(c.SecretHash)).
			And(expression.Name(statetable.ExpiresAt).GreaterThan(expression.Value(s.Now().Unix())))).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build challenge consumption: %w", err)
	}
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.Name),
		Key:                 ChallengeKey(identity.AccountPartition(c.AccountID), c.ID).AV(),
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}}, nil
}
