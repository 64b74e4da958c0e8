package web_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/web"
)

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// declaredCodes reads codes.go for its constants of type Code.
func declaredCodes(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{} // name → value
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				t.Errorf("%s: a constant of codes.go that is not declared of type Code", vs.Names[0].Name)
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: not a string literal", name.Name)
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				consts[name.Name] = v
			}
		}
	}
	return consts
}

// TestCodeRegistry: every code declared in codes.go is registered once,
// snake_case, with an error status, a title, and a message that reads as a
// sentence when it has one; the registry holds nothing else.
func TestCodeRegistry(t *testing.T) {
	consts := declaredCodes(t)
	codes := web.Codes()
	if len(codes) != len(consts) {
		t.Errorf("%d codes registered, %d declared", len(codes), len(consts))
	}
	declared := map[string]string{} // value → constant
	for name, v := range consts {
		if other, dup := declared[v]; dup {
			t.Errorf("%s and %s are both %q", name, other, v)
		}
		declared[v] = name
		if want := "Code" + camel(v); name != want {
			t.Errorf("%s = %q: name it %s", name, v, want)
		}
		if _, ok := web.Code(v).Info(); !ok {
			t.Errorf("%s = %q is not registered", name, v)
		}
	}
	for _, c := range codes {
		if _, ok := declared[string(c.Code)]; !ok {
			t.Errorf("%q is registered but not declared as a constant", c.Code)
		}
		if !snakeCase.MatchString(string(c.Code)) {
			t.Errorf("%q is not snake_case", c.Code)
		}
		if c.Status < 400 || c.Status > 599 || http.StatusText(c.Status) == "" {
			t.Errorf("%s: status %d is not an HTTP error status", c.Code, c.Status)
		}
		if c.Status != c.Code.Status() || c.Code.New().Status != c.Status || c.Code.Errorf("x").Status != c.Status {
			t.Errorf("%s: answered with another status than its registered %d", c.Code, c.Status)
		}
		if strings.TrimSpace(c.Title) == "" || strings.HasSuffix(c.Title, ".") {
			t.Errorf("%s: title %q: want a few words, no full stop", c.Code, c.Title)
		}
		if c.Message != "" && !strings.HasSuffix(c.Message, ".") {
			t.Errorf("%s: message %q is not a sentence", c.Code, c.Message)
		}
		if got := c.Code.New().Message; got != c.Message {
			t.Errorf("%s: New says %q, registered %q", c.Code, got, c.Message)
		}
	}
}

// camel turns "nda_required" into "NDARequired" and "malformed_json" into
// "MalformedJSON" (initialisms as Go spells them).
func camel(code string) string {
	var b strings.Builder
	for _, w := range strings.Split(code, "_") {
		switch w {
		case "json", "nda", "id", "url":
			b.WriteString(strings.ToUpper(w))
		default:
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
