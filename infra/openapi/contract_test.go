package openapi_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/atrium-cdn/atrium/infra/cfn"
	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/openapi"
	"github.com/atrium-cdn/atrium/shared/web"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// diff names what is in one list and not the other.
func diff(a, b []string) (onlyA, onlyB []string) {
	for _, x := range a {
		if !slices.Contains(b, x) {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			onlyB = append(onlyB, x)
		}
	}
	return onlyA, onlyB
}

// codeRoutes are the routes the functions declare (and the local gateway serves).
func codeRoutes() []string {
	var out []string
	for _, fn := range gateway.HTTPFunctions {
		out = append(out, fn.Routes...)
	}
	sort.Strings(out)
	return out
}

// templateRoutes are the HttpApi events of every function in template.yaml.
func templateRoutes(t *testing.T) []string {
	t.Helper()
	tmpl, err := cfn.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, id := range tmpl.Functions() {
		events, _ := tmpl.Resources[id].Properties["Events"].(map[string]any)
		for _, ev := range events {
			e, _ := ev.(map[string]any)
			if e["Type"] != "HttpApi" {
				continue
			}
			p, _ := e["Properties"].(map[string]any)
			method, _ := p["Method"].(string)
			path, _ := p["Path"].(string)
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

var apiRoute = regexp.MustCompile("`((?:GET|POST|PUT|PATCH|DELETE) /[^` ?]*)")

// readmeRoutes are the routes the README's API table lists (its first column).
func readmeRoutes(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## API\n")
	if !ok {
		t.Fatal("README.md has no \"## API\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var out []string
	for line := range strings.Lines(section) {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range apiRoute.FindAllStringSubmatch(first, -1) {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// The document is the single source of truth: every route the code serves,
// every route template.yaml gives API Gateway and every route the README's
// table lists is an operation of the document, and the other way round.
func TestEveryRouteIsDocumented(t *testing.T) {
	documented := openapi.Operations(load(t))
	if len(documented) < 20 {
		t.Fatalf("only %d operations documented", len(documented))
	}
	for _, tc := range []struct {
		where  string
		routes func(*testing.T) []string
	}{
		{"the functions' code", func(*testing.T) []string { return codeRoutes() }},
		{"template.yaml", templateRoutes},
		{"README.md's API table", readmeRoutes},
	} {
		t.Run(tc.where, func(t *testing.T) {
			routes := tc.routes(t)
			if len(routes) == 0 {
				t.Fatalf("no routes found in %s", tc.where)
			}
			missing, extra := diff(routes, documented)
			for _, r := range missing {
				t.Errorf("%s has %s, which openapi.yaml does not document", tc.where, r)
			}
			for _, r := range extra {
				t.Errorf("openapi.yaml documents %s, which %s does not have", r, tc.where)
			}
		})
	}
}

// Every problem code of the registry (shared/web/codes.go) is in the
// document, with the status the registry answers it with, and the document
// has no code the registry lacks.
func TestEveryProblemCodeIsDocumented(t *testing.T) {
	doc := load(t)
	enum := func(s *openapi3.Schema) []string {
		var out []string
		for _, v := range s.Enum {
			out = append(out, v.(string))
		}
		sort.Strings(out)
		return out
	}
	all := doc.Components.Schemas["ProblemCode"]
	if all == nil {
		t.Fatal("components.schemas.ProblemCode is missing")
	}
	byStatus := map[int][]string{}
	var registry []string
	for _, info := range web.Codes() {
		registry = append(registry, string(info.Code))
		byStatus[info.Status] = append(byStatus[info.Status], string(info.Code))
	}
	missing, extra := diff(registry, enum(all.Value))
	for _, c := range missing {
		t.Errorf("registry code %s is not in ProblemCode", c)
	}
	for _, c := range extra {
		t.Errorf("ProblemCode has %s, which the registry does not", c)
	}
	// Each status's problem schema names exactly the codes answered with it.
	statuses := map[int]bool{}
	for name, s := range doc.Components.Schemas {
		n, ok := strings.CutPrefix(name, "Problem")
		status, err := strconv.Atoi(n)
		if !ok || err != nil {
			continue
		}
		statuses[status] = true
		var codes []string
		for _, part := range s.Value.AllOf {
			if c := part.Value.Properties["code"]; c != nil && part.Ref == "" {
				codes = enum(c.Value)
			}
		}
		want := slices.Sorted(slices.Values(byStatus[status]))
		if !slices.Equal(codes, want) {
			t.Errorf("%s names codes %v; the registry answers %d with %v", name, codes, status, want)
		}
	}
	for status, codes := range byStatus {
		if !statuses[status] {
			t.Errorf("no Problem%d schema, yet the registry answers %v with %d", status, codes, status)
		}
	}
}

// Every operation answers the problems every route may answer, and every
// problem response the document describes carries the request id and
// Cache-Control, as the code sends them on every answer.
func TestEveryResponseHasTheCommonHeaders(t *testing.T) {
	doc := load(t)
	for _, op := range openapi.Operations(doc) {
		method, path, _ := strings.Cut(op, " ")
		o := doc.Paths.Find(path).GetOperation(method)
		if o.Responses.Status(500) == nil {
			t.Errorf("%s: no 500 answer", op)
		}
		for status, r := range o.Responses.Map() {
			for _, h := range []string{"X-Request-Id", "Cache-Control"} {
				if r.Value.Headers[h] == nil {
					t.Errorf("%s %s: no %s header", op, status, h)
				}
			}
			if status == "429" && r.Value.Headers["Retry-After"] == nil {
				t.Errorf("%s 429: no Retry-After", op)
			}
		}
	}
}

// TestPreflightsAreOutsideTheDocument: a CORS preflight (answered by API
// Gateway from the template) is not checked against the operations, while
// any other OPTIONS request still must get the contract's 405.
func TestPreflightsAreOutsideTheDocument(t *testing.T) {
	c, err := openapi.NewChecker("http://127.0.0.1:3000")
	if err != nil {
		t.Fatal(err)
	}
	req := func(headers ...string) *http.Request {
		r := httptest.NewRequest(http.MethodOptions, "http://127.0.0.1:3000/v1/logout", nil)
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		return r
	}
	preflight := req("Origin", "http://localhost:5173", "Access-Control-Request-Method", "POST")
	if err := c.Check(preflight, nil, http.StatusNoContent, http.Header{}, nil); err != nil {
		t.Errorf("a preflight was checked against the operations: %v", err)
	}
	for _, r := range []*http.Request{req(), req("Origin", "http://localhost:5173"), req("Access-Control-Request-Method", "POST")} {
		if err := c.Check(r, nil, http.StatusNoContent, http.Header{}, nil); err == nil {
			t.Errorf("OPTIONS with %v answered 204 passed the contract", r.Header)
		}
	}
}
