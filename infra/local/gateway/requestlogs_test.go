package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/infra/local/stack"
)

// requestLogFields are the only attributes a request-log item may hold (P6).
var requestLogFields = []string{"pk", "sk", "request_id", "function", "method", "route", "status", "code",
	"latency_ms", "time", "expires_at", "expiry_shard"}

var (
	emailLike = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	ipLike    = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){2,7}\b`)
)

// checkRequestLogs scans every request-log item written during the suite's
// flows and fails the run if one holds an attribute beyond the allowed set,
// anything shaped like an email or IP address, or any password, token or
// secret the tests used.
func checkRequestLogs() int {
	db := stack.DynamoDBClient(theStack.DynamoDBEndpoint)
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(theStack.Tables["RequestLogTable"])})
	items, bad := 0, 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: scan request logs: %v\n", err)
			return 1
		}
		for _, item := range page.Items {
			var m map[string]any
			_ = attributevalue.UnmarshalMap(item, &m)
			if m["pk"] == "SWEEP" {
				continue // the sweep's watermark, not a request log
			}
			items++
			for k := range m {
				if !slices.Contains(requestLogFields, k) {
					fmt.Fprintf(os.Stderr, "FAIL: a request-log item holds %q\n", k)
					bad++
				}
			}
			text := fmt.Sprint(m)
			if emailLike.MatchString(text) || ipLike.MatchString(text) {
				fmt.Fprintf(os.Stderr, "FAIL: a request-log item holds an address: %s\n", text)
				bad++
			}
			if n := remembered(text); n > 0 {
				fmt.Fprintf(os.Stderr, "FAIL: a request-log item holds %d of the suite's passwords, tokens or addresses\n", n)
				bad++
			}
		}
	}
	if items < 10 {
		fmt.Fprintf(os.Stderr, "FAIL: only %d request-log items; the check proves nothing\n", items)
		return 1
	}
	if bad > 0 {
		return 1
	}
	fmt.Printf("request-log check: %d items, only allowed fields, no address, token or secret\n", items)
	return 0
}

// TestRequestLogsThroughTheAPI: the requests an account makes appear in its
// own GET /v1/logs, by route pattern and status, newest first; another
// account's requests do not.
func TestRequestLogsThroughTheAPI(t *testing.T) {
	token, _ := signUpAndVerify(t, newAddress(t), strongPassword(t))
	other, _ := signUpAndVerify(t, newAddress(t), strongPassword(t))
	do(t, request{method: "GET", path: "/v1/account", header: bearer(token)})
	do(t, request{method: "GET", path: "/v1/sources/src_unknown", header: bearer(token)})
	do(t, request{method: "GET", path: "/v1/account", header: bearer(other)})

	r := do(t, request{method: "GET", path: "/v1/logs?limit=2", header: bearer(token)})
	logs, _ := r.JSON["logs"].([]any)
	if r.Status != http.StatusOK || len(logs) != 2 || r.str("next_cursor") == "" {
		t.Fatalf("first page: %d %s", r.Status, r.Raw)
	}
	first := logs[0].(map[string]any)
	if first["route"] != "/v1/sources/{id}" || first["status"] != float64(404) || first["code"] != "source_not_found" {
		t.Fatalf("newest item %v", first)
	}
	routes := []string{first["route"].(string), logs[1].(map[string]any)["route"].(string)}
	for cursor := r.str("next_cursor"); ; {
		p := do(t, request{method: "GET", path: "/v1/logs?limit=2&cursor=" + cursor, header: bearer(token)})
		page, _ := p.JSON["logs"].([]any)
		for _, it := range page {
			routes = append(routes, it.(map[string]any)["route"].(string))
		}
		if cursor = p.str("next_cursor"); cursor == "" {
			// The last page says so: next_cursor is there, and null.
			if next, present := p.JSON["next_cursor"]; !present || next != nil {
				t.Fatalf("last page: next_cursor %v (present: %v), want null: %s", next, present, p.Raw)
			}
			break
		}
	}
	// The verification that created the account was made without a session,
	// so it is not the account's: its own requests are the two GETs.
	if !slices.Equal(routes, []string{"/v1/sources/{id}", "/v1/account"}) {
		t.Fatalf("the account's logs are %v", routes)
	}
	// Out of bounds and unauthenticated, on purpose: only the answers are checked against the contract.
	wantProblem(t, do(t, request{method: "GET", path: "/v1/logs?limit=0", header: bearer(token), malformed: true}), http.StatusBadRequest, "validation_failed")
	wantProblem(t, do(t, request{method: "GET", path: "/v1/logs", malformed: true}), http.StatusUnauthorized, "unauthenticated")
}
