// Package identity holds who a customer is: accounts, the email claims that
// keep one account per address, single-use tokens (email verification), and
// sessions, all in the state table; and the HTTP authenticator every
// authenticated function puts in front of its routes.
package identity

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDB is the part of the DynamoDB API this package uses; *dynamodb.Client
// satisfies it, and tests may wrap it to inject faults.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// ErrNotFound reports a missing (or expired) item.
var ErrNotFound = errors.New("not found")

// Store reads and writes identity items in the state table.
type Store struct {
	db    DynamoDB
	table string
	now   func() time.Time
}

// NewStore returns a Store over the named table. now may be nil (time.Now).
func NewStore(db DynamoDB, table string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, table: table, now: now}
}

// Now is the store's clock, for callers that must agree with it.
func (s *Store) Now() time.Time { return s.now().UTC() }
