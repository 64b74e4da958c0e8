// Package openapi holds the API's contract, openapi.yaml, and checks HTTP
// traffic against it: every request and response the local stack's
// round-trip tests make passes through Checker's transport, so the document
// and the code cannot drift apart unnoticed.
package openapi

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Document is openapi.yaml, the API's contract.
//
//go:embed openapi.yaml
var Document []byte

// Load parses and validates the contract.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(Document)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
}

// Operations lists the document's operations as "METHOD /path" (the
// method upper-case, the path as the document spells it).
func Operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

type skipKey struct{}

// SkipRequestValidation marks a request as deliberately malformed (a
// bad-input test): its request is not checked against the contract, its
// response still is.
func SkipRequestValidation(ctx context.Context) context.Context {
	return context.WithValue(ctx, skipKey{}, true)
}

func skipped(ctx context.Context) bool {
	v, _ := ctx.Value(skipKey{}).(bool)
	return v
}

// Checker validates traffic against the contract and keeps every mismatch.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
	// unrouted are the answers to a request that matches no operation:
	// 404 for an unknown path, 405 for a known path with another method.
	unrouted map[int]*openapi3.Response

	mu       sync.Mutex
	failures []string
	checked  int
	seen     map[string]bool // operations exercised, "METHOD /path"
}

// NewChecker checks traffic sent to the API at serverURL (such as an
// httptest server's URL) against the contract.
func NewChecker(serverURL string) (*Checker, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	// Route by the test server's address instead of the document's servers.
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the contract: %w", err)
	}
	c := &Checker{doc: doc, router: router, unrouted: map[int]*openapi3.Response{}, seen: map[string]bool{}}
	for status, name := range map[int]string{http.StatusNotFound: "NotFound", http.StatusMethodNotAllowed: "MethodNotAllowed"} {
		ref := doc.Components.Responses[name]
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("openapi.yaml: components.responses.%s is missing", name)
		}
		c.unrouted[status] = ref.Value
	}
	return c, nil
}

// Transport wraps base (http.DefaultTransport when nil) so that every round
// trip through it is checked: a request or response that does not match the
// contract makes RoundTrip fail with the mismatch, so the test that sent
// it fails, and the mismatch is kept for Failures.
func (c *Checker) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		var reqBody []byte
		if req.Body != nil && req.Body != http.NoBody {
			b, err := io.ReadAll(req.Body)
			_ = req.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("contract check: read request body: %w", err)
			}
			reqBody = b
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		resp, err := base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		respBody, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("contract check: read response body: %w", err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
		if err := c.Check(req, reqBody, resp.StatusCode, resp.Header, respBody); err != nil {
			return nil, err
		}
		return resp, nil
	})
}

// Client is client with its transport wrapped by Transport (a copy; client
// is not changed).
func (c *Checker) Client(client *http.Client) *http.Client {
	cp := *client
	cp.Transport = c.Transport(client.Transport)
	return &cp
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Check validates one exchange: the request (unless it is marked with
// SkipRequestValidation) and the response against the operation the
// request matches, or, for a request that matches none, the response
// against the contract's 404 or 405 answer.
func (c *Checker) Check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	err := c.check(req, reqBody, status, header, respBody)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked++
	if err != nil {
		c.failures = append(c.failures, err.Error())
	}
	return err
}

func (c *Checker) check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	if isPreflight(req) {
		// API Gateway answers CORS preflights itself, from the template's
		// CorsConfiguration, before any route: they are not operations of
		// the document (infra/local/gateway's CORS tests check them
		// against the template instead).
		return nil
	}
	ctx := context.Background()
	// The router and the validator read the body: give them a copy.
	probe := req.Clone(ctx)
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	what := req.Method + " " + req.URL.Path
	route, params, err := c.router.FindRoute(probe)
	if err != nil {
		var rerr *routers.RouteError
		if !errors.As(err, &rerr) {
			return fmt.Errorf("contract: %s: %w", what, err)
		}
		want := http.StatusNotFound
		if errors.Is(rerr, routers.ErrMethodNotAllowed) {
			want = http.StatusMethodNotAllowed
		}
		if status != want {
			return fmt.Errorf("contract: %s is not in the document (%v), yet answered %d, not %d", what, rerr, status, want)
		}
		return c.checkUnrouted(what, status, header, respBody)
	}
	op := req.Method + " " + route.Path
	c.mu.Lock()
	c.seen[op] = true
	c.mu.Unlock()
	opts := &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true, AuthenticationFunc: authenticated}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
	if !skipped(req.Context()) {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("contract: request %s does not match operation %s: %w", what, op, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("contract: response %d to %s does not match operation %s: %w (body %.300s)", status, what, op, err, respBody)
	}
	return nil
}

// isPreflight reports a CORS preflight: OPTIONS with an Origin and the
// method the page means to use.
func isPreflight(req *http.Request) bool {
	return req.Method == http.MethodOptions && req.Header.Get("Origin") != "" &&
		req.Header.Get("Access-Control-Request-Method") != ""
}

// checkUnrouted validates the answer to a request for a route the document
// does not have (as a client probing a wrong path or method gets it).
func (c *Checker) checkUnrouted(what string, status int, header http.Header, body []byte) error {
	resp := c.unrouted[status]
	for name, h := range resp.Headers {
		if h.Value.Required && header.Get(name) == "" {
			return fmt.Errorf("contract: %d to %s has no %s header", status, what, name)
		}
		if v := header.Get(name); v != "" && h.Value.Schema != nil {
			if err := h.Value.Schema.Value.VisitJSON(v); err != nil {
				return fmt.Errorf("contract: %d to %s: header %s: %w", status, what, name, err)
			}
		}
	}
	ct := header.Get("Content-Type")
	media := resp.Content.Get(ct)
	if media == nil {
		return fmt.Errorf("contract: %d to %s has content type %q, not one the document gives", status, what, ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("contract: %d to %s: body is not JSON: %w", status, what, err)
	}
	if err := media.Schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("contract: %d to %s does not match the document's answer: %w (body %.300s)", status, what, err, body)
	}
	return nil
}

// authenticated checks that a request to a secured operation carries the
// credential the scheme names (whether it is a live one is the API's to
// judge, and the response's shape is checked either way).
func authenticated(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	r := in.RequestValidationInput.Request
	switch {
	case s.Type == "http" && s.Scheme == "bearer":
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return nil
		}
	case s.Type == "apiKey" && s.In == "cookie":
		if _, err := r.Cookie(s.Name); err == nil {
			return nil
		}
	case s.Type == "apiKey" && s.In == "header":
		if r.Header.Get(s.Name) != "" {
			return nil
		}
	default:
		return fmt.Errorf("security scheme %s is not checked by the contract test", in.SecuritySchemeName)
	}
	return fmt.Errorf("no %s credential", in.SecuritySchemeName)
}

// Failures returns every mismatch seen so far.
func (c *Checker) Failures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.failures...)
}

// Checked is how many exchanges were checked.
func (c *Checker) Checked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked
}

// Seen returns the operations exercised so far, as "METHOD /path".
func (c *Checker) Seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.seen))
	for op := range c.seen {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}
