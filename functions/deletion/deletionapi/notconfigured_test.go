package deletionapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Account deletion (P7) does not wait for billing to be set up: with the
// Stripe secret still the template's placeholder, the function starts,
// logs one line naming the secret, and deletes an account that has no
// Stripe customer (every account, while billing was never set up) to the
// end. (One with a customer stops at the Stripe step: see shared/billing's
// TestEraserWithoutStripe.)
func TestDeletesWithoutStripeConfigured(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := context.Background()
	arn := testenv.PutSecret(t, st, testenv.TemplatePlaceholder(t, "StripeSecret"))
	logs := &testenv.LogBuffer{}
	fn, err := Build(ctx, st.ColdstartEnv("deletion", logs, map[string]string{"STRIPE_SECRET_ARN": arn}))
	if err != nil {
		t.Fatalf("cold start with the placeholder: %v", err)
	}
	if n := strings.Count(logs.String(), `"msg":"not_configured"`); n != 1 || !strings.Contains(logs.String(), arn) {
		t.Fatalf("%d not_configured lines naming %s, want 1:\n%s", n, arn, logs)
	}
	table := st.Env("deletion")["STATE_TABLE"]
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	accounts := identity.NewStore(db, table, nil)
	id := testenv.ActiveAccount(t, accounts, time.Now())
	acct, err := accounts.Account(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	jobs := deletion.NewStore(db, table, nil)
	job, _, err := jobs.Accept(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "INSERT", EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{SequenceNumber: "100000000000000000001", StreamViewType: "KEYS_ONLY",
			Keys: map[string]events.DynamoDBAttributeValue{
				statetable.PK: events.NewStringAttribute(deletion.JobKey(job.ID).PK),
				statetable.SK: events.NewStringAttribute(deletion.JobKey(job.ID).SK)}}}}}
	payload, _ := json.Marshal(ev)
	if raw, err := fn.Invoke(ctx, payload); err != nil || string(raw) != `{"batchItemFailures":[]}` {
		t.Fatalf("stream invocation: %v %s", err, raw)
	}
	if done, err := jobs.Get(ctx, job.ID); err != nil || done.Status != "done" {
		t.Fatalf("job: %v %+v", err, done)
	}
}
