package mfa

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// MaxPendingWrongCodes is how many wrong codes a pending enrolment takes:
// the next confirmation finds it gone (a guesser gets a few tries at one
// secret, not its whole pending window's worth).
const MaxPendingWrongCodes = 3

// PendingFactor returns the account's pending factor enrolled by
// sessionID and still alive; ErrNotFound otherwise (another session's
// enrolment is not even seen to exist).
func (s *Store) PendingFactor(ctx context.Context, accountID, sessionID, factorID string) (*Factor, error) {
	f, err := s.Factor(ctx, accountID, factorID)
	if err != nil {
		return nil, err
	}
	if f.Status != StatusPending || sessionID == "" || f.SessionID != sessionID || f.WrongCodes >= MaxPendingWrongCodes {
		return nil, ErrNotFound
	}
	return f, nil
}

// pendingAlive is the condition of a pending factor not yet dead of
// wrong codes.
func pendingAlive() expression.ConditionBuilder {
	return expression.Name(attrWrong).AttributeNotExists().
		Or(expression.Name(attrWrong).LessThan(expression.Value(MaxPendingWrongCodes)))
}

// PendingWrongCode counts a wrong confirmation code against a pending
// factor (atomically: concurrent wrong codes each count) and deletes the
// factor at MaxPendingWrongCodes. dead reports that it is gone.
func (s *Store) PendingWrongCode(ctx context.Context, accountID, factorID string) (dead bool, err error) {
	key := FactorKey(identity.AccountPartition(accountID), factorID)
	e, err := expression.NewBuilder().
		WithCondition(expression.Name(attrStatus).Equal(expression.Value(StatusPending))).
		WithUpdate(expression.Add(expression.Name(attrWrong), expression.Value(1))).Build()
	if err != nil {
		return false, fmt.Errorf("build wrong code: %w", err)
	}
	in := statetable.Update(s.Name, key, e)
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: in.TableName, Key: in.Key,
		ConditionExpression: in.ConditionExpression, UpdateExpression: in.UpdateExpression,
		ExpressionAttributeNames: in.ExpressionAttributeNames, ExpressionAttributeValues: in.ExpressionAttributeValues,
		ReturnValues: types.ReturnValueUpdatedNew})
	if statetable.IsConditionFailed(err) {
		return true, nil // confirmed or gone meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("count wrong code: %w", err)
	}
	var n struct {
		WrongCodes int `dynamodbav:"wrong_codes"`
	}
	if err := attributevalue.UnmarshalMap(out.Attributes, &n); err != nil {
		return false, fmt.Errorf("decode wrong codes: %w", err)
	}
	if n.WrongCodes < MaxPendingWrongCodes {
		return false, nil
	}
	cond, err := expression.NewBuilder().WithCondition(expression.Name(attrStatus).Equal(expression.Value(StatusPending))).Build()
	if err != nil {
		return false, fmt.Errorf("build delete: %w", err)
	}
	_, err = s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Name), Key: key.AV(),
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values()})
	if err != nil && !statetable.IsConditionFailed(err) {
		return true, fmt.Errorf("delete dead enrolment: %w", err)
	}
	return true, nil
}
