package statetable_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/statetable"
)

// cannedDynamoDB answers each call with the next of its answers (the last
// one repeated), as DynamoDB would over HTTP, and counts the calls.
type cannedDynamoDB struct {
	answers []string // "" is success ({}); otherwise the cancellation reasons, comma-separated
	calls   atomic.Int32
}

func (c *cannedDynamoDB) Do(*http.Request) (*http.Response, error) {
	i := int(c.calls.Add(1)) - 1
	a := c.answers[min(i, len(c.answers)-1)]
	if a == "" {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
			Body: io.NopCloser(strings.NewReader("{}"))}, nil
	}
	var reasons []string
	for _, code := range strings.Split(a, ",") {
		reasons = append(reasons, `{"Code":"`+code+`"}`)
	}
	body := `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",` +
		`"Message":"Transaction cancelled","CancellationReasons":[` + strings.Join(reasons, ",") + `]}`
	return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(strings.NewReader(body))}, nil
}

// TestRetryConflicts: a transaction cancelled only by a conflict with
// another transaction is retried until it gets its real answer; one
// cancelled by a failed condition is answered at once; a client without
// the option gives up on the first conflict.
func TestRetryConflicts(t *testing.T) {
	tx := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Put: &types.Put{
		TableName: aws.String("state"), Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}}}}}
	for _, c := range []struct {
		name      string
		answers   []string
		retry     bool
		wantCalls int32
		wantErr   func(error) bool
	}{
		{"conflict then success", []string{"TransactionConflict", "", ""}, true, 2, func(err error) bool { return err == nil }},
		{"conflicts on both items then a failed condition", []string{"TransactionConflict,TransactionConflict", "ConditionalCheckFailed,None"}, true, 2,
			statetable.IsConditionFailed},
		{"a failed condition beside a conflict is answered at once", []string{"ConditionalCheckFailed,TransactionConflict", ""}, true, 1,
			statetable.IsConditionFailed},
		{"conflicts every time: the SDK's attempts, then the error", []string{"TransactionConflict"}, true, 3,
			func(err error) bool { var tce *types.TransactionCanceledException; return errors.As(err, &tce) }},
		{"without the option a conflict is final", []string{"TransactionConflict", ""}, false, 1,
			func(err error) bool { var tce *types.TransactionCanceledException; return errors.As(err, &tce) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			canned := &cannedDynamoDB{answers: c.answers}
			opts := []func(*dynamodb.Options){func(o *dynamodb.Options) { o.HTTPClient = canned }}
			if c.retry {
				opts = append(opts, statetable.RetryConflicts)
			}
			db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
				Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}, opts...)
			_, err := db.TransactWriteItems(context.Background(), tx)
			if !c.wantErr(err) {
				t.Errorf("error %v is not the one wanted", err)
			}
			if got := canned.calls.Load(); got != c.wantCalls {
				t.Errorf("%d calls, want %d", got, c.wantCalls)
			}
		})
	}
}
