package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/deletion"
)

// TestDeleteAccountThroughTheAPI deletes an account that has a source, a
// Stripe customer and request logs through the public API, then, calling
// nothing but the read-only status route, waits for the receipt (the state
// table's stream starts the job at acceptance), finds nothing of the account
// left in any table or among the secrets, and signs the address up again.
func TestDeleteAccountThroughTheAPI(t *testing.T) {
	email, pass := newAddress(t), strongPassword(t)
	token, acct := signUpAndVerify(t, email, pass)
	acctID := acct["id"].(string)

	const keyID, secret = "AKIATESTDELETION0001", "gateway-deletion-secret-0123456789abcdef"
	endpoint, _ := readableBucket(t, "doomed", keyID, secret)
	r := do(t, request{method: "POST", path: "/v1/sources", header: bearer(token), body: map[string]any{
		"name": "doomed", "type": "s3_compatible", "bucket": "doomed", "region": "us-east-1",
		"endpoint": endpoint, "access_key_id": keyID, "secret_access_key": secret}})
	if r.Status != http.StatusCreated {
		t.Fatalf("source: %d %s", r.Status, r.Raw)
	}
	srcID := r.str("source", "id")
	if r := do(t, request{method: "POST", path: "/v1/billing/checkout", header: bearer(token), body: map[string]string{"plan": "premium"}}); r.Status != 200 {
		t.Fatalf("checkout: %d %s", r.Status, r.Raw)
	}

	wantProblem(t, do(t, request{method: "DELETE", path: "/v1/account", header: bearer(token),
		body: map[string]string{"password": pass + "-wrong"}}), http.StatusForbidden, "wrong_password")
	r = do(t, request{method: "DELETE", path: "/v1/account", header: bearer(token), body: map[string]string{"password": pass}})
	accepted := time.Now()
	if r.Status != http.StatusAccepted {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	statusURL := r.str("deletion", "status_url")
	wantProblem(t, do(t, request{method: "GET", path: "/v1/account", header: bearer(token)}), http.StatusUnauthorized, "unauthenticated")
	wantProblem(t, do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": pass}}),
		http.StatusUnauthorized, "invalid_credentials")

	r = waitForReceipt(t, statusURL)
	t.Logf("receipt done %s after the 202, with nobody driving the job", time.Since(accepted).Round(time.Millisecond))
	if strings.Contains(string(r.Raw), acctID) || strings.Contains(strings.ToLower(string(r.Raw)), strings.ToLower(email)) {
		t.Fatalf("the receipt names the account: %s", r.Raw)
	}
	if r.str("deletion", "account_digest") != deletion.Digest(r.str("deletion", "id"), acctID, email) {
		t.Fatalf("digest does not prove the account: %s", r.Raw)
	}

	// Nothing of the account in any table, nor among the secrets.
	db := stack.DynamoDBClient(theStack.DynamoDBEndpoint)
	for logical, table := range theStack.Tables {
		p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				var m map[string]any
				_ = attributevalue.UnmarshalMap(it, &m)
				text := strings.ToLower(fmt.Sprint(m))
				if strings.Contains(text, strings.ToLower(acctID)) || strings.Contains(text, strings.ToLower(email)) || strings.Contains(text, strings.ToLower(srcID)) {
					t.Errorf("%s still holds the account: %v / %v", logical, m["pk"], m["sk"])
				}
			}
		}
	}
	out, err := stack.SecretsManagerClient(theStack.SecretsManagerEndpoint).ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{theStack.Prefix + "/sources/" + acctID}}}})
	if err != nil || len(out.SecretList) != 0 {
		t.Errorf("secrets left: %v %d", err, len(out.SecretList))
	}

	// The confirmation was the last email; then the address signs up anew.
	mails := testenv.WaitForMails(t, email, 2)
	if !strings.Contains(mails[0].Subject, "being deleted") {
		t.Errorf("the last email is %q", mails[0].Subject)
	}
	again, acct2 := signUpAndVerify(t, email, strongPassword(t))
	if acct2["id"] == acctID || again == "" {
		t.Errorf("re-signup gave %v", acct2)
	}
}

// waitForReceipt reads the deletion through its read-only status route until
// it is done, for up to 60 s, and returns the answer.
func waitForReceipt(t testing.TB, statusURL string) response {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := do(t, request{method: "GET", path: statusURL})
		if r.Status != http.StatusOK {
			t.Fatalf("status: %d %s", r.Status, r.Raw)
		}
		if r.str("deletion", "status") == deletion.StatusDone {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("no receipt 60 s after the deletion was accepted: %s", r.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
