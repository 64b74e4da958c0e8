package stripewebhookapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/identity"
)

// BenchmarkWebhookAcknowledgement measures, warm and against the local
// stack (DynamoDB Local, stripe-mock), how long a signed delivery takes to be
// acknowledged through the function as Lambda builds it (verify, take the
// event, read the customer and its subscriptions from stripe-mock, write the
// plan, mark the event done), beside one bare DynamoDB conditional write,
// interleaved in the same run. It reports p50 and p99 of both in ms:
//
//	go run ./infra/local/cmd/atrium-local exec -- go test -run '^$' \
//	  -bench WebhookAcknowledgement -benchtime 400x ./functions/stripewebhook/stripewebhookapi/
func BenchmarkWebhookAcknowledgement(b *testing.B) {
	st := testenv.NewStack(b)
	env := st.Env("stripewebhook")
	h, err := New(context.Background(), st.ColdstartEnv("stripewebhook", &testenv.LogBuffer{}, nil))
	if err != nil {
		b.Fatal(err)
	}
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	table := env["STATE_TABLE"]
	ctx := context.Background()
	acct := testenv.ActiveAccount(b, identity.NewStore(db, table, nil), time.Now())
	// stripe-mock answers for any customer id.
	if err := billing.NewStore(db, table, nil).Link(ctx, acct, "cus_benchmark"); err != nil {
		b.Fatal(err)
	}
	deliver := func(i int) time.Duration {
		body := eventBody(fmt.Sprintf("evt_bench%d_%d", time.Now().UnixNano(), i), "customer.subscription.updated", "cus_benchmark", "sub_bench")
		r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/stripe", strings.NewReader(string(body)))
		r.Header.Set("Stripe-Signature", sign(body, stack.LocalWebhookSecret, time.Now()))
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"applied"`) {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		return d
	}
	bare := func(i int) time.Duration {
		start := time.Now()
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
			Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("BENCH#%d_%d", time.Now().UnixNano(), i)},
				"sk": &types.AttributeValueMemberS{Value: "BENCH"},
			},
			ConditionExpression: aws.String("attribute_not_exists(pk)")})
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	for i := range 20 { // warm both paths
		deliver(1_000_000 + i)
		bare(1_000_000 + i)
	}
	var hook, write []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		hook = append(hook, deliver(i))
		write = append(write, bare(i))
	}
	b.StopTimer()
	ms := func(ds []time.Duration, q float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(ms(hook, 0.50), "webhook-p50-ms")
	b.ReportMetric(ms(hook, 0.99), "webhook-p99-ms")
	b.ReportMetric(ms(write, 0.50), "write-p50-ms")
	b.ReportMetric(ms(write, 0.99), "write-p99-ms")
}
