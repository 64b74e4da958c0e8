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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// mfaAccount signs an address up through the API, enrols and confirms a
// TOTP factor, and returns the session, the secret and the recovery codes
// (all remembered: no log line may hold them).
func mfaAccount(t *testing.T) (email, pass, token, secret string, codes []string) {
	t.Helper()
	email, pass = newAddress(t), strongPassword(t)
	token, _ = signUpAndVerify(t, email, pass)
	r := do(t, request{method: "POST", path: "/v1/mfa/totp", header: bearer(token), body: map[string]string{"name": "phone"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("enrol: %d %s", r.Status, r.Raw)
	}
	secret, id := r.str("secret"), r.str("factor", "id")
	remember(secret, r.str("otpauth_uri"))
	r = do(t, request{method: "POST", path: "/v1/mfa/totp/" + id + "/confirm", header: bearer(token),
		body: map[string]string{"code": testenv.TOTPFromBase32(t, secret, time.Now())}})
	if r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Raw)
	}
	for _, c := range r.JSON["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	remember(codes...)
	return email, pass, token, secret, codes
}

// TestSecondFactorsThroughTheAPI: a TOTP account's whole life through the
// local API (every round trip checked against the contract): a login needs
// the second factor; the export shows the factor's name, kind and dates and
// the recovery codes left, never a secret or a hash; the deletion erases
// every item of it, the pending challenge and the failure count included.
// A second account is left with a factor, a pending challenge and a wrong
// code, so that the suite's census sees every kind of package mfa.
func TestSecondFactorsThroughTheAPI(t *testing.T) {
	email, pass, _, secret, codes := mfaAccount(t)
	r := do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": pass}})
	if r.Status != http.StatusOK || r.JSON["mfa_required"] != true || r.JSON["session"] != nil {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	remember(r.str("mfa_token"))
	// The next step's code: the confirmation used this step's (one step of skew is allowed).
	r = do(t, request{method: "POST", path: "/v1/login/mfa", body: map[string]string{"mfa_token": r.str("mfa_token"),
		"method": "totp", "code": testenv.TOTPFromBase32(t, secret, time.Now().Add(30*time.Second))}})
	if r.Status != http.StatusOK {
		t.Fatalf("login/mfa: %d %s", r.Status, r.Raw)
	}
	token := r.str("session", "token")
	acctID := r.str("account", "id")
	remember(token)

	r = do(t, request{method: "GET", path: "/v1/account/export", header: bearer(token)})
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Raw)
	}
	sf, _ := r.JSON["second_factors"].(map[string]any)
	factors, _ := sf["factors"].([]any)
	rc, _ := sf["recovery_codes"].(map[string]any)
	if len(factors) != 1 || rc["left"] != float64(10) {
		t.Fatalf("export's second_factors: %v", sf)
	}
	f := factors[0].(map[string]any)
	if f["kind"] != "totp" || f["name"] != "phone" || f["status"] != "active" || f["created_at"] == nil || f["confirmed_at"] == nil {
		t.Fatalf("exported factor %v", f)
	}
	raw := strings.ToLower(string(r.Raw))
	for _, s := range append([]string{secret, "sealed_secret", `"hashes"`, "secret_hash", "last_step"}, codes...) {
		if strings.Contains(raw, strings.ToLower(s)) {
			t.Fatalf("the export holds %q", s)
		}
	}
	// A challenge left pending and a wrong code, for the deletion to find.
	r = do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": pass}})
	remember(r.str("mfa_token"))
	wantProblem(t, do(t, request{method: "POST", path: "/v1/login/mfa", body: map[string]string{"mfa_token": r.str("mfa_token"),
		"method": "recovery_code", "code": "zzzz-zzzz-zzzz-zzzz-zzzz-zzzz"}}), http.StatusUnauthorized, "invalid_second_factor")

	// The session proved TOTP a moment ago: its step-up is fresh.
	r = do(t, request{method: "DELETE", path: "/v1/account", header: bearer(token), body: map[string]string{"password": pass}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	r = waitForReceipt(t, r.str("deletion", "status_url"))
	if n, _ := r.JSON["deletion"].(map[string]any)["deleted"].(map[string]any)["other_items"].(float64); n < 4 {
		t.Errorf("receipt counts %v other items, want the factor, the codes, the challenge and the failures: %s", n, r.Raw)
	}
	db := stack.DynamoDBClient(theStack.DynamoDBEndpoint)
	out, err := db.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(theStack.Tables["StateTable"]),
		KeyConditionExpression: aws.String("pk = :p"), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "ACCOUNT#" + acctID}}})
	if err != nil || len(out.Items) != 0 {
		var left []string
		for _, it := range out.Items {
			var m map[string]any
			_ = attributevalue.UnmarshalMap(it, &m)
			left = append(left, fmt.Sprint(m["sk"]))
		}
		t.Fatalf("after the deletion the partition holds %v (%v)", left, err)
	}

	// The account left for the census.
	email2, pass2, _, _, _ := mfaAccount(t)
	r = do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email2, "password": pass2}})
	remember(r.str("mfa_token"))
	wantProblem(t, do(t, request{method: "POST", path: "/v1/login/mfa", body: map[string]string{"mfa_token": r.str("mfa_token"),
		"method": "totp", "code": "000000"}}), http.StatusUnauthorized, "invalid_second_factor")
}
