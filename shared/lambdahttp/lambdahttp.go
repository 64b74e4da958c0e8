// Package lambdahttp serves an ordinary net/http handler as a Lambda function
// behind an API Gateway HTTP API (payload format 2.0).
//
// It converts events itself rather than through a general proxy library, to
// keep the request exactly as the client sent it: header values are never
// split on commas (a Stripe-Signature header holds several), cookies arrive in
// the event's own field, a base64 body is decoded, and a handler that writes
// nothing answers 200 as net/http would.
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Main builds a function's handler from the process environment, once per
// cold start, and serves it.
func Main(build func(context.Context, coldstart.Env) (http.Handler, error)) {
	lambda.Start(Handler(coldstart.Build(build)))
}

// badEvent answers an event that is not a well-formed request: no detail,
// no request id.
var (
	badEvent     = web.CodeBadEvent.New()
	badEventBody = mustJSON(badEvent.Problem(""))
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("lambdahttp: encode %T: %v", v, err))
	}
	return string(b)
}

// Handler adapts h to API Gateway HTTP API events.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := Request(ctx, ev)
		if err != nil {
			// A malformed event is API Gateway's fault, not the client's, and
			// holds nothing we may log: answer 400 without detail.
			return events.APIGatewayV2HTTPResponse{StatusCode: badEvent.Status,
				Headers: map[string]string{"Content-Type": "application/problem+json"},
				Body:    badEventBody}, nil
		}
		w := newResponse()
		h.ServeHTTP(w, r)
		return w.event(), nil
	}
}

// Request turns an event into the http.Request the client made.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("lambdahttp: body is not base64")
		}
		body = b
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	u := &url.URL{Scheme: "https", Host: ev.RequestContext.DomainName, RawQuery: ev.RawQueryString}
	if err := setPath(u, path); err != nil {
		return nil, err
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("lambdahttp: event has no method")
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("lambdahttp: %w", err)
	}
	for k, v := range ev.Headers {
		r.Header.Set(k, v) // one value, as API Gateway joined it: never split
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = ev.RequestContext.DomainName
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	r.RequestURI = u.RequestURI()
	return r, nil
}

func setPath(u *url.URL, raw string) error {
	if !strings.HasPrefix(raw, "/") {
		raw = "/" + raw
	}
	p, err := url.PathUnescape(raw)
	if err != nil {
		return fmt.Errorf("lambdahttp: bad path")
	}
	u.Path, u.RawPath = p, raw
	return nil
}

// response collects what the handler writes.
type response struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponse() *response { return &response{header: http.Header{}} }

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *response) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// event renders the response: cookies in their own field, other headers
// joined as HTTP allows, a body that is not UTF-8 text base64-encoded.
func (w *response) event() events.APIGatewayV2HTTPResponse {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	out := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: map[string]string{}}
	for k, vs := range w.header {
		if k == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ", ")
	}
	b := w.body.Bytes()
	if utf8.Valid(b) {
		out.Body = string(b)
	} else {
		out.Body, out.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return out
}
