package deletionapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

// TestStatusOnlyReadsAndTheStreamRunsTheJob: the status route shows an
// accepted job as it stands, however often it is called, and changes
// nothing; the job's stream record, through the same Lambda entry point as
// HTTP events, carries it out; then the route shows the receipt.
func TestStatusOnlyReadsAndTheStreamRunsTheJob(t *testing.T) {
	st := testenv.NewStack(t)
	env := st.Env("deletion")
	logs := &testenv.LogBuffer{}
	fn, err := Build(context.Background(), st.ColdstartEnv("deletion", logs, nil))
	if err != nil {
		t.Fatal(err)
	}
	h := fn.HTTP
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	accounts := identity.NewStore(db, env["STATE_TABLE"], nil)
	id := testenv.ActiveAccount(t, accounts, time.Now())
	acct, err := accounts.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	jobs := deletion.NewStore(db, env["STATE_TABLE"], nil)
	job, _, err := jobs.Accept(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, map[string]any) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}

	// Read-only: the job stays accepted, untouched, the account with it.
	for range 3 {
		status, out := get("/v1/account/deletion/" + job.ID)
		d, _ := out["deletion"].(map[string]any)
		if status != http.StatusOK || d["status"] != deletion.StatusAccepted || d["id"] != job.ID || d["completed_at"] != nil {
			t.Fatalf("accepted job: %d %v", status, out)
		}
	}
	stored, err := jobs.Get(context.Background(), job.ID)
	if err != nil || stored.Status != deletion.StatusAccepted || len(stored.Steps) != 0 || stored.LeaseToken != "" {
		t.Fatalf("the status route changed the job: %v %+v", err, stored)
	}
	if a, err := accounts.Account(context.Background(), id); err != nil || a.Status != identity.StatusDeleting {
		t.Fatalf("the status route touched the account: %v %+v", err, a)
	}

	// The stream's record, as Lambda delivers it, through the function's one entry point.
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "INSERT", EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{SequenceNumber: "100000000000000000001", StreamViewType: "KEYS_ONLY",
			Keys: map[string]events.DynamoDBAttributeValue{
				statetable.PK: events.NewStringAttribute(deletion.JobKey(job.ID).PK),
				statetable.SK: events.NewStringAttribute(deletion.JobKey(job.ID).SK)}}}}}
	payload, _ := json.Marshal(ev)
	raw, err := fn.Invoke(context.Background(), payload)
	if err != nil || string(raw) != `{"batchItemFailures":[]}` {
		t.Fatalf("stream invocation: %v %s", err, raw)
	}

	status, out := get("/v1/account/deletion/" + job.ID)
	d, _ := out["deletion"].(map[string]any)
	if status != http.StatusOK || d["status"] != "done" || d["account_digest"] != deletion.Digest(job.ID, id, acct.Email) {
		t.Fatalf("%d %v", status, out)
	}
	deleted, _ := d["deleted"].(map[string]any)
	if deleted["account"] != float64(1) || deleted["email_claim"] != float64(1) {
		t.Errorf("receipt %v", deleted)
	}
	raw, _ = json.Marshal(out)
	for _, secret := range []string{id, acct.Email, "lease"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the receipt shows %q: %s", secret, raw)
		}
	}
	for _, path := range []string{"/v1/account/deletion/del_aaaaaaaaaaaaaaaaaaaaaaaaaa", "/v1/account/deletion/x", "/v1/account/deletion/" + id} {
		if status, out := get(path); status != http.StatusNotFound || out["code"] != "deletion_not_found" {
			t.Errorf("%s: %d %v", path, status, out)
		}
	}
	if _, err := accounts.Account(context.Background(), id); err == nil {
		t.Error("the account is still there")
	}

	// An HTTP API event through the same entry point is answered as HTTP.
	httpEv, _ := json.Marshal(events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/v1/account/deletion/" + job.ID,
		RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: "api.example", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/account/deletion/" + job.ID, SourceIP: "203.0.113.9"}}})
	raw, err = fn.Invoke(context.Background(), httpEv)
	var res events.APIGatewayV2HTTPResponse
	if err != nil || json.Unmarshal(raw, &res) != nil || res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `"status":"done"`) {
		t.Errorf("HTTP event: %v %s", err, raw)
	}
	// Records of another service are refused, not taken for HTTP.
	if _, err := fn.Invoke(context.Background(), []byte(`{"Records":[{"eventSource":"aws:sqs"}]}`)); err == nil {
		t.Error("an SQS batch was accepted")
	}
}
