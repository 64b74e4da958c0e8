package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Token kinds.
const (
	TokenVerifyEmail   = "verify_email"
	TokenResetPassword = "reset_password"
)

// MaxTokenLength bounds a token accepted from a request.
const MaxTokenLength = 128

// Token is a single-use token as stored: only the hash of its value is kept.
type Token struct {
	Kind         string `dynamodbav:"kind"`
	Hash         string `dynamodbav:"-"`
	AccountID    string `dynamodbav:"account_id"`
	IssuedMillis int64  `dynamodbav:"issued_ms"`
}

// IssueToken stores a new single-use token living for ttl and returns its
// value, which only the email that carries it will ever hold. A token for an
// account is written only while the account exists and is not being
// deleted (ErrNotFound otherwise), so no pointer lands in the partition of an
// account whose deletion has begun; a decoy (no account) has no such check.
func (s *Store) IssueToken(ctx context.Context, t Token, ttl time.Duration) (string, error) {
	value := ids.Secret()
	t.IssuedMillis = s.Now().UnixMilli()
	item, err := attributevalue.MarshalMap(t)
	if err != nil {
		return "", fmt.Errorf("encode token: %w", err)
	}
	for k, v := range TokenKey(t.Kind, ids.Hash(value)).AV() {
		item[k] = v
	}
	item[statetable.ExpiresAt] = statetable.Epoch(s.Now().Add(ttl))
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(statetable.PK))).Build()
	if err != nil {
		return "", fmt.Errorf("build token condition: %w", err)
	}
	writes := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item,
			ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names()}},
	}
	// A decoy (no account) has no pointer: all of them would land in one
	// partition, a hot key an attacker could throttle so that only requests
	// for unknown addresses fail. The answer floor hides the missing write.
	if t.AccountID != "" {
		// The pointer in the account's partition lets an account deletion
		// find the token; it lapses with it.
		ref := TokenRefKey(t.AccountID, t.Kind, ids.Hash(value)).AV()
		ref[statetable.ExpiresAt] = item[statetable.ExpiresAt]
		writes = append(writes, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.Name), Item: ref}})
		live, err := AccountIn(s.Name, t.AccountID, StatusPending, StatusActive)
		if err != nil {
			return "", err
		}
		writes = append(writes, live)
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: writes})
	if statetable.IsConditionFailed(err) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("put token: %w", err)
	}
	return value, nil
}

// LookupToken returns the live token of that kind with that value, or
// ErrNotFound (unknown, expired or already used).
func (s *Store) LookupToken(ctx context.Context, kind, value string) (*Token, error) {
	if value == "" || len(value) > MaxTokenLength {
		return nil, ErrNotFound
	}
	t := &Token{Hash: ids.Hash(value)}
	found, err := s.Get(ctx, TokenKey(kind, t.Hash), t)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if !found {
		return nil, ErrNotFound
	}
	return t, nil
}

// consumeToken is the transaction item that deletes a token only while it is
// still there and unexpired, so a token can be used once.
func (s *Store) consumeToken(t *Token) (types.TransactWriteItem, error) {
	cond, err := expression.NewBuilder().WithCondition(
		expression.AttributeExists(expression.Name(statetable.PK)).
			And(expression.Name(statetable.ExpiresAt).GreaterThan(expression.Value(s.Now().Unix())))).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build consume condition: %w", err)
	}
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName: aws.String(s.Name), Key: TokenKey(t.Kind, t.Hash).AV(),
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values(),
	}}, nil
}

// DeleteToken removes a token that can no longer be used (best effort: TTL
// would remove it anyway).
func (s *Store) DeleteToken(ctx context.Context, t *Token) error {
	if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.Name), Key: TokenKey(t.Kind, t.Hash).AV(),
	}); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}
