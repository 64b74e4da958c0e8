package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// invoke calls an invoked function the way the Lambda Invoke API does.
func invoke(t *testing.T, function string, event any) (status int, functionError string, out map[string]any) {
	t.Helper()
	api(t)
	body, _ := json.Marshal(event)
	resp, err := http.Post(internalURL+"/2015-03-31/functions/"+function+"/invocations", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), out
}

// TestSourceToFetcher registers a source through the public API and reads its
// keys back through the internal credentials function, as a CDN fetcher does;
// the public API never shows the secret key, and another account cannot
// reach the source by either way.
func TestSourceToFetcher(t *testing.T) {
	const keyID, secret = "AKIATESTREADER000001", "gateway-test-secret-key-0123456789abcdef"
	endpoint, bucket := readableBucket(t, "cdn-images", keyID, secret)

	owner, _ := signUpAndVerify(t, newAddress(t), strongPassword(t))
	other, otherAcct := signUpAndVerify(t, newAddress(t), strongPassword(t))

	r := do(t, request{method: "POST", path: "/v1/sources", header: bearer(owner), body: map[string]any{
		"name": "Product photos", "type": "s3_compatible", "bucket": "cdn-images", "region": "us-east-1",
		"endpoint": endpoint, "access_key_id": keyID, "secret_access_key": secret,
	}})
	if r.Status != http.StatusCreated || r.str("source", "access_key_id_hint") != "0001" {
		t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	if strings.Contains(string(r.Raw), secret) || strings.Contains(string(r.Raw), keyID) {
		t.Fatalf("the response shows a key: %s", r.Raw)
	}
	srcID := r.str("source", "id")
	src := r.JSON["source"].(map[string]any)
	_ = src
	acctID := strings.SplitN(owner, ".", 2)[0]

	status, ferr, out := invoke(t, "credentials", map[string]string{"account_id": acctID, "source_id": srcID})
	if status != http.StatusOK || ferr != "" || out["secret_access_key"] != secret || out["access_key_id"] != keyID ||
		out["bucket"] != "cdn-images" || out["endpoint"] != endpoint {
		t.Fatalf("credentials: %d %q %v", status, ferr, out)
	}
	// Another account's id with this source: not found, like any unknown source.
	_, ferr, out = invoke(t, "credentials", map[string]string{"account_id": otherAcct["id"].(string), "source_id": srcID})
	// errorType is the documented NotFound, never a Go type's name (it was "*coldstart.scrubbedError").
	if ferr == "" || out["errorMessage"] != "source not found" || out["errorType"] != "NotFound" {
		t.Fatalf("another account read the source: %q %v", ferr, out)
	}
	wantProblem(t, do(t, request{method: "GET", path: "/v1/sources/" + srcID, header: bearer(other)}), http.StatusNotFound, "source_not_found")

	for _, rq := range []request{
		{method: "GET", path: "/v1/sources", header: bearer(owner)},
		{method: "GET", path: "/v1/sources/" + srcID, header: bearer(owner)},
	} {
		if r := do(t, rq); r.Status != http.StatusOK || strings.Contains(string(r.Raw), secret) {
			t.Fatalf("%s %s: %d %s", rq.method, rq.path, r.Status, r.Raw)
		}
	}
	if r := do(t, request{method: "DELETE", path: "/v1/sources/" + srcID, header: bearer(owner)}); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	if _, ferr, _ := invoke(t, "credentials", map[string]string{"account_id": acctID, "source_id": srcID}); ferr == "" {
		t.Fatal("credentials still readable after the source was deleted")
	}
	if bucket.Writes() != 0 {
		t.Fatalf("Atrium wrote to the customer's bucket %d times", bucket.Writes())
	}
	// The housekeeping function runs and finds nothing to do.
	if status, ferr, out := invoke(t, "housekeeping", map[string]any{}); status != http.StatusOK || ferr != "" || out["sources"] == nil {
		t.Fatalf("housekeeping: %d %q %v", status, ferr, out)
	}
}
