package lambdatest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// The API Gateway the events pretend to come through.
const (
	AccountID  = "123456789012"
	APIID      = "atr1um0api"
	DomainName = APIID + ".execute-api.us-east-1.amazonaws.com"
	SourceIP   = "203.0.113.7" // TEST-NET-3: documentation addresses only
	UserAgent  = "Mozilla/5.0 (X11; Linux x86_64) lambdatest/1.0"
	StageName  = "$default"
	timeLayout = "02/Jan/2006:15:04:05 -0700"
)

// HTTPRequest describes one request to the HTTP API.
type HTTPRequest struct {
	Method string
	Path   string // the raw path, e.g. /v1/login
	Query  string // the raw query string, without "?"
	// Route is the route key API Gateway matched, e.g. "GET /v1/sources/{id}";
	// "METHOD Path" when empty.
	Route   string
	Headers map[string]string // names in any case; API Gateway lowercases them
	Cookies []string          // "name=value" each, as API Gateway passes them
	Body    string
	// Base64 sends Body base64-encoded with isBase64Encoded set, as API
	// Gateway does for bodies it does not take for text.
	Base64 bool
}

// Event is the API Gateway HTTP API (payload format 2.0) event for r, shaped
// like the ones API Gateway sends: lowercased headers with the forwarding
// headers it adds, and a full request context.
func (r HTTPRequest) Event() events.APIGatewayV2HTTPRequest {
	route := r.Route
	if route == "" {
		route = r.Method + " " + r.Path
	}
	now := time.Now().UTC()
	headers := map[string]string{
		"accept":            "application/json",
		"accept-encoding":   "gzip, deflate, br",
		"host":              DomainName,
		"user-agent":        UserAgent,
		"x-amzn-trace-id":   "Root=1-" + strconv.FormatInt(now.Unix(), 16) + "-" + randomHex(12),
		"x-forwarded-for":   SourceIP,
		"x-forwarded-port":  "443",
		"x-forwarded-proto": "https",
	}
	body := r.Body
	if r.Base64 {
		body = base64.StdEncoding.EncodeToString([]byte(r.Body))
	}
	if r.Body != "" {
		headers["content-length"] = strconv.Itoa(len(r.Body))
	}
	for k, v := range r.Headers {
		headers[strings.ToLower(k)] = v
	}
	return events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       route,
		RawPath:        r.Path,
		RawQueryString: r.Query,
		Cookies:        r.Cookies,
		Headers:        headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route,
			AccountID:    AccountID,
			Stage:        StageName,
			RequestID:    base64.StdEncoding.EncodeToString([]byte(randomHex(5))), // API Gateway's own id, not Lambda's
			APIID:        APIID,
			DomainName:   DomainName,
			DomainPrefix: APIID,
			Time:         now.Format(timeLayout),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.Path,
				Protocol:  "HTTP/1.1",
				SourceIP:  SourceIP,
				UserAgent: UserAgent,
			},
		},
		Body:            body,
		IsBase64Encoded: r.Base64,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// HTTPResult is an HTTP API invocation: the function's response and the
// emulator's report.
type HTTPResult struct {
	events.APIGatewayV2HTTPResponse
	Invocation
}

// Header returns a response header, whatever the case of its name.
func (r HTTPResult) Header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// BodyBytes is the response body, base64-decoded when the function encoded it.
func (r HTTPResult) BodyBytes(tb testing.TB) []byte {
	tb.Helper()
	if !r.IsBase64Encoded {
		return []byte(r.Body)
	}
	b, err := base64.StdEncoding.DecodeString(r.Body)
	if err != nil {
		tb.Fatalf("response body: isBase64Encoded but not base64: %v", err)
	}
	return b
}

// InvokeHTTP invokes the function with the event of r and decodes its API
// Gateway response. It fails tb if the invocation fails, the function
// returns an error instead of a response, or the response has no status.
func (e *Emulator) InvokeHTTP(tb testing.TB, r HTTPRequest) HTTPResult {
	tb.Helper()
	payload, err := json.Marshal(r.Event())
	if err != nil {
		tb.Fatal(err)
	}
	inv := e.Invoke(tb, payload, "")
	if inv.Status != http.StatusOK {
		tb.Fatalf("%s %s: the emulator answered %d: %s\n%s", r.Method, r.Path, inv.Status, inv.Payload, e.Tail(40))
	}
	var fnErr struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal(inv.Payload, &fnErr) == nil && (fnErr.Message != "" || fnErr.Type != "") {
		tb.Fatalf("%s %s: the function returned an error instead of a response: %s: %s\n%s",
			r.Method, r.Path, fnErr.Type, fnErr.Message, e.Tail(40))
	}
	res := HTTPResult{Invocation: inv}
	if err := json.Unmarshal(inv.Payload, &res.APIGatewayV2HTTPResponse); err != nil {
		tb.Fatalf("%s %s: response is not an API Gateway v2 response: %v: %s", r.Method, r.Path, err, inv.Payload)
	}
	if res.StatusCode == 0 {
		tb.Fatalf("%s %s: response has no statusCode: %s", r.Method, r.Path, inv.Payload)
	}
	return res
}

// StreamRecord is a record of a DynamoDB stream with keys only, shaped as the event source
// mapping delivers it: event (INSERT, MODIFY or REMOVE) of the item at the string keys pk and sk.
func StreamRecord(seq int, event, pk, sk string) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{
		AWSRegion: "us-east-1", EventID: randomHex(16), EventName: event, EventSource: "aws:dynamodb", EventVersion: "1.1",
		EventSourceArn: "arn:aws:dynamodb:us-east-1:" + AccountID + ":table/atrium-state/stream/2026-01-01T00:00:00.000",
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Now().Truncate(time.Second)},
			Keys:                        map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk)},
			SequenceNumber:              fmt.Sprintf("%021d", seq), SizeBytes: int64(len(pk) + len(sk)), StreamViewType: "KEYS_ONLY",
		},
	}
}

// InvokeStream invokes the function with a batch of stream records and decodes its partial
// batch response. It fails tb if the invocation fails or the function returns an error.
func (e *Emulator) InvokeStream(tb testing.TB, records ...events.DynamoDBEventRecord) (events.DynamoDBEventResponse, Invocation) {
	tb.Helper()
	payload, err := json.Marshal(events.DynamoDBEvent{Records: records})
	if err != nil {
		tb.Fatal(err)
	}
	inv := e.Invoke(tb, payload, "")
	if inv.Status != http.StatusOK {
		tb.Fatalf("stream batch: the emulator answered %d: %s\n%s", inv.Status, inv.Payload, e.Tail(40))
	}
	var res struct {
		events.DynamoDBEventResponse
		Message string `json:"errorMessage"`
	}
	if err := json.Unmarshal(inv.Payload, &res); err != nil || res.Message != "" || res.BatchItemFailures == nil {
		tb.Fatalf("stream batch: not a partial batch response: %s (%v)\n%s", inv.Payload, err, e.Tail(40))
	}
	return res.DynamoDBEventResponse, inv
}
