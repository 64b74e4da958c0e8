package passkeys

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Eraser is the passkeys' part of an account's deletion: the index from
// its user handle (outside the account's partition, so it goes first),
// then its passkeys (each after its credential id's index), its
// ceremonies' challenges and its user item. It is
// idempotent. A passwordless login's challenge names no account: it
// expires by itself.
func Eraser(s *Store) lifecycle.Eraser {
	return lifecycle.Eraser{Step: EraseStep, Owner: lifecycleOwner,
		Erase: func(ctx context.Context, sub lifecycle.Subject, count lifecycle.Count) error {
			return erase(ctx, s.DB, s.Name, sub.AccountID, count)
		}}
}

func erase(ctx context.Context, db statetable.DynamoDB, table, accountID string, count lifecycle.Count) error {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: UserKey(accountID).AV(),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("read passkey user: %w", err)
	}
	if out.Item != nil {
		var u userItem
		if err := attributevalue.UnmarshalMap(out.Item, &u); err != nil {
			return fmt.Errorf("decode passkey user: %w", err)
		}
		// Only the index of this account (a handle is random; the condition is a guard).
		_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: HandleKey(u.Handle).AV(),
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR account_id = :a"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: accountID}}})
		if err != nil && !statetable.IsConditionFailed(err) {
			return fmt.Errorf("delete handle index: %w", err)
		}
	}
	n := 0
	for _, prefix := range []string{CredentialPrefix, ChallengePrefix} {
		err := statetable.EachInPartition(ctx, db, table, identity.AccountPartition(accountID), prefix, []string{statetable.SK, "credential_id"},
			func(item map[string]types.AttributeValue) error {
				sk, _ := item[statetable.SK].(*types.AttributeValueMemberS)
				if sk == nil {
					return fmt.Errorf("passkey item without a sort key")
				}
				// A passkey's credential id index first (outside the
				// partition), only this account's.
				if id, _ := item["credential_id"].(*types.AttributeValueMemberB); prefix == CredentialPrefix && id != nil {
					_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: CredentialIDKey(id.Value).AV(),
						ConditionExpression:       aws.String("attribute_not_exists(pk) OR account_id = :a"),
						ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: accountID}}})
					if err != nil && !statetable.IsConditionFailed(err) {
						return fmt.Errorf("delete credential id index: %w", err)
					}
				}
				if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table),
					Key: statetable.Key{PK: identity.AccountPartition(accountID), SK: sk.Value}.AV()}); err != nil {
					return fmt.Errorf("delete passkey item: %w", err)
				}
				if prefix == CredentialPrefix {
					n++
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: UserKey(accountID).AV()}); err != nil {
		return fmt.Errorf("delete passkey user: %w", err)
	}
	return count("passkeys", n)
}
