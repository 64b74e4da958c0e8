package requestlog

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
)

// Querier is the one DynamoDB call the reader makes.
type Querier interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Reader lists an account's own request logs.
type Reader struct {
	db    Querier
	table string
	now   func() time.Time
}

// NewReader returns a Reader; now may be nil.
func NewReader(db Querier, table string, now func() time.Time) *Reader {
	if now == nil {
		now = time.Now
	}
	return &Reader{db: db, table: table, now: now}
}

// ListQuery selects an account's items: newest first, between Since and
// Until, at most Limit, after Cursor (from a previous page).
type ListQuery struct {
	AccountID    string
	Since, Until time.Time
	Limit        int
	Cursor       string
}

// Page is one page of items and the cursor of the next ("" at the end).
type Page struct {
	Items []Item
	Next  string
}

// ErrBadCursor reports a cursor this reader did not make.
var ErrBadCursor = errors.New("invalid cursor")

// Compiled on first use, not in a package initialiser: bounded repeats make
// compiling such an expression cost at every cold start (issue #17).
var cursorKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{13}#[A-Za-z0-9_-]{1,64}$`) })

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

// List returns one page. Items whose expires_at has passed are never
// returned, even while still stored. The partition key is the caller's own
// account, so no cursor can reach another account's items.
func (r *Reader) List(ctx context.Context, q ListQuery) (Page, error) {
	now := r.now()
	pk := partition(q.AccountID, now)
	lo, hi := fmt.Sprintf("%013d", q.Since.UnixMilli()), fmt.Sprintf("%013d~", q.Until.UnixMilli())
	e, err := expression.NewBuilder().
		WithKeyCondition(expression.Key("pk").Equal(expression.Value(pk)).And(expression.Key("sk").Between(expression.Value(lo), expression.Value(hi)))).
		WithFilter(expression.Name("expires_at").GreaterThan(expression.Value(now.Unix()))).Build()
	if err != nil {
		return Page{}, fmt.Errorf("build log query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(r.table), ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(q.Limit)), // #nosec G115 -- bounded by the handler (≤ 100)
		KeyConditionExpression: e.KeyCondition(), FilterExpression: e.Filter(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}
	if q.Cursor != "" {
		sk, err := decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		switch {
		case sk < lo:
			return Page{Items: []Item{}}, nil // past the oldest wanted: the end
		case sk > hi:
			return Page{}, ErrBadCursor // not from a page of this range
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk},
		}
	}
	out, err := r.db.Query(ctx, in)
	if err != nil {
		return Page{}, fmt.Errorf("query logs: %w", err)
	}
	page := Page{Items: []Item{}}
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &page.Items); err != nil {
		return Page{}, fmt.Errorf("decode logs: %w", err)
	}
	if sk, ok := out.LastEvaluatedKey["sk"].(*types.AttributeValueMemberS); ok {
		page.Next = encodeCursor(sk.Value)
	}
	return page, nil
}
