// Package compliance keeps an account's compliance records (P9): its
// acceptances of the NDA, one per version, and its compliance requests.
// Both live in the account's partition of the state table (sort keys NDA#
// and COMPLIANCE#), so account deletion removes them with everything else
// the account owns, and the GDPR export reads them here (Records).
package compliance

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// RateAction names the counter of an account's compliance requests, kept
// under a pseudonym of the account id (pseudonym.Keyer.Of(RateDomain, id)),
// and RequestLimit bounds them: each is an email to the account manager.
const (
	RateAction = "compliance"
	RateDomain = "account"
)

// RequestLimit is how many compliance requests an account may make.
var RequestLimit = throttle.Limit{Max: 20, Window: time.Hour}

// Request types.
const (
	// TypeSOC2Report asks for the SOC 2 report: premium, under the NDA.
	TypeSOC2Report = "soc2_report"
	// TypePentestReport asks for the latest penetration-test results: premium.
	TypePentestReport = "pentest_report"
	// TypeSecurityQuestionnaire asks Atrium to answer the customer's
	// security questionnaire: premium.
	TypeSecurityQuestionnaire = "security_questionnaire"
	// TypePentestNotice announces a pen test of the customer's own systems
	// that interact with Atrium: every plan.
	TypePentestNotice = "pentest_notice"
)

// Requirement is what an account needs to make a request of a type.
type Requirement struct {
	Premium bool // the premium plan in force
	NDA     bool // an acceptance of the current NDA version
}

// Types are the request types and what each requires.
var Types = map[string]Requirement{
	TypeSOC2Report:            {Premium: true, NDA: true},
	TypePentestReport:         {Premium: true},
	TypeSecurityQuestionnaire: {Premium: true},
	TypePentestNotice:         {},
}

// TypeNames lists the request types in a fixed order, for messages.
var TypeNames = []string{TypeSOC2Report, TypePentestReport, TypeSecurityQuestionnaire, TypePentestNotice}

// StatusReceived is a request's status once recorded and sent to the
// account manager.
const StatusReceived = "received"

// Sort-key prefixes of the records in the account's partition.
const (
	NDAPrefix     = "NDA#"
	RequestPrefix = "COMPLIANCE#"
)

// NDAKey is the key of the account's acceptance of one NDA version.
func NDAKey(accountID, version string) statetable.Key {
	return statetable.Key{PK: identity.AccountPartition(accountID), SK: NDAPrefix + version}
}

// RequestKey is the key of one of the account's requests: the sort key
// orders the requests by creation time (milliseconds), then id.
func RequestKey(accountID string, createdAt time.Time, id string) statetable.Key {
	return statetable.Key{PK: identity.AccountPartition(accountID),
		SK: fmt.Sprintf("%s%013d#%s", RequestPrefix, createdAt.UnixMilli(), id)}
}

// NDAAcceptance records who accepted which NDA version for an account, and when.
type NDAAcceptance struct {
	AccountID      string    `dynamodbav:"account_id"`
	Version        string    `dynamodbav:"version"`
	AcceptedAt     time.Time `dynamodbav:"accepted_at"`
	SignatoryName  string    `dynamodbav:"signatory_name"`
	SignatoryTitle string    `dynamodbav:"signatory_title"`
}

// Request is one compliance request. The fields after CreatedAt belong to
// some types only.
type Request struct {
	ID        string    `dynamodbav:"id"`
	AccountID string    `dynamodbav:"account_id"`
	Type      string    `dynamodbav:"type"`
	Status    string    `dynamodbav:"status"`
	CreatedAt time.Time `dynamodbav:"created_at"`

	// NDAVersion is the NDA version in force and accepted (soc2_report).
	NDAVersion string `dynamodbav:"nda_version,omitempty"`
	// Description and DueDate (YYYY-MM-DD, optional) of a security_questionnaire.
	Description string `dynamodbav:"description,omitempty"`
	DueDate     string `dynamodbav:"due_date,omitempty"`
	// Scope, Start, End and ContactName of a pentest_notice.
	Scope       string     `dynamodbav:"scope,omitempty"`
	Start       *time.Time `dynamodbav:"start,omitempty"`
	End         *time.Time `dynamodbav:"end,omitempty"`
	ContactName string     `dynamodbav:"contact_name,omitempty"`
}

// Store reads and writes the records.
type Store struct {
	statetable.Table
}

// NewStore returns a Store over the state table; now may be nil (time.Now).
func NewStore(db statetable.DynamoDB, table string, now func() time.Time) *Store {
	return &Store{statetable.NewTable(db, table, now)}
}

// ErrNotFound reports a record that does not exist.
var ErrNotFound = statetable.NotFound("compliance record not found")

// ErrBadCursor reports a cursor this store did not make.
var ErrBadCursor = errors.New("invalid cursor")

// ErrAccountNotActive reports an account that is gone, not verified, or
// being deleted: nothing was recorded.
var ErrAccountNotActive = errors.New("account not active")

// putNew writes a new record in the account's partition unless one with that
// key exists (false). It writes only while the account is active, in one
// transaction with that check: a request that races the acceptance of the
// account's deletion gets ErrAccountNotActive, and no record lands in the
// partition after the deletion job has swept it.
func (s *Store) putNew(ctx context.Context, accountID string, k statetable.Key, v any) (bool, error) {
	item, err := attributevalue.MarshalMap(v)
	if err != nil {
		return false, fmt.Errorf("encode item: %w", err)
	}
	for name, av := range k.AV() {
		item[name] = av
	}
	e, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(statetable.PK))).Build()
	if err != nil {
		return false, fmt.Errorf("build condition: %w", err)
	}
	active, err := identity.AccountIn(s.Name, accountID, identity.StatusActive)
	if err != nil {
		return false, err
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item,
			ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names()}}, active,
	}})
	if failed, ok := statetable.CancelledByCondition(err); ok {
		if failed[1] {
			return false, ErrAccountNotActive
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// AcceptNDA records the acceptance, unless the account has already accepted
// that version: the first acceptance stands. It returns the acceptance on
// record and whether it is the one just made; ErrAccountNotActive (wrapped)
// if the account is not active.
func (s *Store) AcceptNDA(ctx context.Context, a NDAAcceptance) (NDAAcceptance, bool, error) {
	created, err := s.putNew(ctx, a.AccountID, NDAKey(a.AccountID, a.Version), a)
	if err != nil {
		return NDAAcceptance{}, false, fmt.Errorf("record NDA acceptance: %w", err)
	}
	if created {
		return a, true, nil
	}
	prev, err := s.NDA(ctx, a.AccountID, a.Version)
	if err != nil {
		return NDAAcceptance{}, false, err
	}
	return *prev, false, nil
}

// NDA returns the account's acceptance of the version, or ErrNotFound.
func (s *Store) NDA(ctx context.Context, accountID, version string) (*NDAAcceptance, error) {
	return statetable.Item[NDAAcceptance](ctx, s.Table, NDAKey(accountID, version), "NDA acceptance", ErrNotFound)
}

// AddRequest records a new request (its id, account and time set), only
// while the account is active (ErrAccountNotActive, wrapped, otherwise).
func (s *Store) AddRequest(ctx context.Context, r *Request) error {
	created, err := s.putNew(ctx, r.AccountID, RequestKey(r.AccountID, r.CreatedAt, r.ID), r)
	if err != nil {
		return fmt.Errorf("record compliance request: %w", err)
	}
	if !created {
		return fmt.Errorf("record compliance request: %s exists already", r.ID)
	}
	return nil
}

// RemoveRequest deletes a request (one whose email could not be sent).
func (s *Store) RemoveRequest(ctx context.Context, r *Request) error {
	if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Name),
		Key: RequestKey(r.AccountID, r.CreatedAt, r.ID).AV()}); err != nil {
		return fmt.Errorf("remove compliance request: %w", err)
	}
	return nil
}

// Page is one page of requests, newest first, and the cursor of the next
// ("" at the end).
type Page struct {
	Requests []Request
	Next     string
}

// Compiled on first use, not in a package initialiser: bounded repeats make
// compiling such an expression cost at every cold start (issue #17).
var cursorKey = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^` + RequestPrefix + `[0-9]{13}#[a-z]{1,16}_[a-z2-7]{26}$`)
})

func encodeCursor(sk string) string { return base64.RawURLEncoding.EncodeToString([]byte(sk)) }

func decodeCursor(c string) (string, error) {
	if len(c) > 128 {
		return "", ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !cursorKey().Match(b) {
		return "", ErrBadCursor
	}
	return string(b), nil
}

// Requests returns a page of at most limit (1 to 1000) of the account's
// requests, newest first, after cursor (from an earlier page; "" for the
// first). The partition is always the account's own, so no cursor reaches
// another account's requests.
func (s *Store) Requests(ctx context.Context, accountID string, limit int, cursor string) (Page, error) {
	if limit < 1 || limit > 1000 {
		return Page{}, fmt.Errorf("list compliance requests: limit %d out of range", limit)
	}
	pk := identity.AccountPartition(accountID)
	e, err := expression.NewBuilder().WithKeyCondition(expression.Key(statetable.PK).Equal(expression.Value(pk)).
		And(expression.Key(statetable.SK).BeginsWith(RequestPrefix))).Build()
	if err != nil {
		return Page{}, fmt.Errorf("build request query: %w", err)
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.Name), ConsistentRead: aws.Bool(true),
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(limit + 1)), // #nosec G115 -- bounded above
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}
	if cursor != "" {
		sk, err := decodeCursor(cursor)
		if err != nil {
			return Page{}, err
		}
		in.ExclusiveStartKey = statetable.Key{PK: pk, SK: sk}.AV()
	}
	out, err := s.DB.Query(ctx, in)
	if err != nil {
		return Page{}, fmt.Errorf("list compliance requests: %w", err)
	}
	items := out.Items
	page := Page{Requests: []Request{}}
	if len(items) > limit { // one more than asked: there is a next page
		items = items[:limit]
		if sk, ok := items[limit-1][statetable.SK].(*types.AttributeValueMemberS); ok {
			page.Next = encodeCursor(sk.Value)
		}
	}
	if err := attributevalue.UnmarshalListOfMaps(items, &page.Requests); err != nil {
		return Page{}, fmt.Errorf("decode compliance requests: %w", err)
	}
	return page, nil
}

// Records are all of an account's compliance records.
type Records struct {
	NDAs     []NDAAcceptance // by version
	Requests []Request       // oldest first
}

// Records reads every compliance record of the account (for the export).
func (s *Store) Records(ctx context.Context, accountID string) (*Records, error) {
	rec := &Records{NDAs: []NDAAcceptance{}, Requests: []Request{}}
	pk := identity.AccountPartition(accountID)
	if err := statetable.EachInPartition(ctx, s.DB, s.Name, pk, NDAPrefix, nil, func(item map[string]types.AttributeValue) error {
		var a NDAAcceptance
		if err := attributevalue.UnmarshalMap(item, &a); err != nil {
			return fmt.Errorf("decode NDA acceptance: %w", err)
		}
		rec.NDAs = append(rec.NDAs, a)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := statetable.EachInPartition(ctx, s.DB, s.Name, pk, RequestPrefix, nil, func(item map[string]types.AttributeValue) error {
		var r Request
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return fmt.Errorf("decode compliance request: %w", err)
		}
		rec.Requests = append(rec.Requests, r)
		return nil
	}); err != nil {
		return nil, err
	}
	return rec, nil
}
