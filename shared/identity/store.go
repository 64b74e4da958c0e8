// Package identity holds who a customer is: accounts, the email claims that
// keep one account per address, single-use tokens (email verification), and
// sessions, all in the state table; and the HTTP authenticator every
// authenticated function puts in front of its routes.
package identity

import (
	"time"

	"github.com/atrium-cdn/atrium/shared/statetable"
)

// DynamoDB is the part of the DynamoDB API this package uses.
type DynamoDB = statetable.DynamoDB

// ErrNotFound reports a missing (or expired) item.
var ErrNotFound = statetable.NotFound("not found")

// Store reads and writes identity items in the state table.
type Store struct {
	statetable.Table
}

// NewStore returns a Store over the named table. now may be nil (time.Now).
func NewStore(db DynamoDB, table string, now func() time.Time) *Store {
	return &Store{statetable.NewTable(db, table, now)}
}
