package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// The deletion steps that erase identity's kinds (their Erasure); the
// account and its email claim go in the deletion's last step, "account",
// through AccountDeletes.
const (
	eraseSessions = "sessions"
	eraseTokens   = "tokens"
	eraseAccount  = "account"
)

// Erasers are identity's parts of an account's deletion, in order: its
// sessions, then its pending single-use tokens.
func (s *Store) Erasers() []lifecycle.Eraser {
	return []lifecycle.Eraser{
		{Step: eraseSessions, Owner: lifecycleOwner, Erase: s.eraseSessions},
		{Step: eraseTokens, Owner: lifecycleOwner, Erase: s.eraseTokens},
	}
}

// eraseSessions deletes the account's sessions, 25 to a call.
func (s *Store) eraseSessions(ctx context.Context, sub lifecycle.Subject, count lifecycle.Count) error {
	keys, err := s.keysIn(ctx, sub.AccountID, SessionPrefix)
	if err != nil {
		return err
	}
	n, err := statetable.DeleteKeys(ctx, s.DB, s.Name, keys)
	if cerr := count("sessions", n); err == nil {
		err = cerr
	}
	return err
}

// keysIn lists the keys of the account's items whose sort key begins with prefix.
func (s *Store) keysIn(ctx context.Context, accountID, prefix string) ([]statetable.Key, error) {
	var keys []statetable.Key
	err := statetable.EachInPartition(ctx, s.DB, s.Name, AccountPartition(accountID), prefix,
		[]string{statetable.SK}, func(item map[string]types.AttributeValue) error {
			var k struct {
				SK string `dynamodbav:"sk"`
			}
			if err := attributevalue.UnmarshalMap(item, &k); err != nil {
				return fmt.Errorf("decode key: %w", err)
			}
			keys = append(keys, statetable.Key{PK: AccountPartition(accountID), SK: k.SK})
			return nil
		})
	return keys, err
}

// eraseTokensAtOnce bounds the token deletions in flight in a deletion.
const eraseTokensAtOnce = 4

// eraseTokens deletes the account's pending tokens (email verification,
// password reset) through the pointers in its partition, at most
// eraseTokensAtOnce at once, then the pointers (25 to a call): a pointer
// goes only once its token has, so a failure leaves nothing unfindable.
func (s *Store) eraseTokens(ctx context.Context, sub lifecycle.Subject, count lifecycle.Count) error {
	refs, err := s.keysIn(ctx, sub.AccountID, TokenRefPrefix)
	if err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		n        int
		gone     []statetable.Key // pointers whose token is gone
		errs     = make([]error, len(refs))
		wg       sync.WaitGroup
		inFlight = make(chan struct{}, eraseTokensAtOnce)
	)
	for i, ref := range refs {
		kind, hash, ok := strings.Cut(strings.TrimPrefix(ref.SK, TokenRefPrefix), "#")
		if !ok {
			errs[i] = fmt.Errorf("malformed token pointer")
			continue
		}
		inFlight <- struct{}{}
		wg.Go(func() {
			defer func() { <-inFlight }()
			out, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Name),
				Key: TokenKey(kind, hash).AV(), ReturnValues: types.ReturnValueAllOld})
			if err != nil {
				errs[i] = fmt.Errorf("delete token: %w", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if out.Attributes != nil {
				n++
			}
			gone = append(gone, ref)
		})
	}
	wg.Wait()
	_, derr := statetable.DeleteKeys(ctx, s.DB, s.Name, gone)
	if derr != nil {
		derr = fmt.Errorf("delete token pointers: %w", derr)
	}
	return errors.Join(errors.Join(errs...), derr, count("pending_tokens", n))
}

// AccountDeletes are the items of the deletion's last transaction that
// remove the account item and, when the address is known, its email claim
// (so the address can sign up again) — unless the claim now belongs to
// another account.
func AccountDeletes(table, accountID, email string) []types.TransactWriteItem {
	items := []types.TransactWriteItem{{Delete: &types.Delete{TableName: aws.String(table), Key: AccountKey(accountID).AV()}}}
	if email != "" {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(table),
			Key:                       EmailClaimKey(email).AV(),
			ConditionExpression:       aws.String("attribute_not_exists(account_id) OR account_id = :a"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: accountID}},
		}})
	}
	return items
}

// MarkDeleting are the items of a deletion's acceptance that stop the
// account: the account item, only if active, turns deleting and names the
// deletion; its email claim turns deleting too, so no login and no session
// works from then on.
func MarkDeleting(table string, acct *Account, deletionID string) ([]types.TransactWriteItem, error) {
	acctExpr, err := expression.NewBuilder().
		WithCondition(expression.Name(attrStatus).Equal(expression.Value(StatusActive))).
		WithUpdate(expression.Set(expression.Name(attrStatus), expression.Value(StatusDeleting)).
			Set(expression.Name(attrDeletionID), expression.Value(deletionID))).Build()
	if err != nil {
		return nil, fmt.Errorf("build account expression: %w", err)
	}
	claimExpr, err := expression.NewBuilder().
		WithCondition(expression.Name(attrAccountID).Equal(expression.Value(acct.ID))).
		WithUpdate(expression.Set(expression.Name(attrStatus), expression.Value(StatusDeleting))).Build()
	if err != nil {
		return nil, fmt.Errorf("build claim expression: %w", err)
	}
	return []types.TransactWriteItem{
		{Update: statetable.Update(table, AccountKey(acct.ID), acctExpr)},
		{Update: statetable.Update(table, EmailClaimKey(acct.Email), claimExpr)},
	}, nil
}

// DeletionUnderway returns the id of the deletion an account being deleted
// names, or "" when the account is not being deleted (or is gone).
func (s *Store) DeletionUnderway(ctx context.Context, accountID string) (string, error) {
	var a struct {
		Status     string `dynamodbav:"status"`
		DeletionID string `dynamodbav:"deletion_id"`
	}
	found, err := s.Get(ctx, AccountKey(accountID), &a)
	if err != nil || !found || a.Status != StatusDeleting {
		return "", err
	}
	return a.DeletionID, nil
}
