package gateway_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/infra/cfn"
	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// templateRoutes returns the "METHOD /path" routes template.yaml gives each function.
func templateRoutes(t *testing.T, tmpl *cfn.Template) map[string][]string {
	t.Helper()
	out := map[string][]string{}
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
			out[id] = append(out[id], strings.ToUpper(method)+" "+path)
		}
		slices.Sort(out[id])
	}
	return out
}

// The local gateway and API Gateway must route alike: every function's routes
// in template.yaml are exactly the routes its package declares, and every
// function with HTTP routes in the template is served locally.
func TestTemplateRoutesMatchTheFunctions(t *testing.T) {
	tmpl, err := cfn.Load(filepath.Join(testenv.RepoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	inTemplate := templateRoutes(t, tmpl)
	served := map[string]bool{}
	for _, fn := range gateway.HTTPFunctions {
		served[fn.LogicalID] = true
		want := slices.Clone(fn.Routes)
		slices.Sort(want)
		if !slices.Equal(inTemplate[fn.LogicalID], want) {
			t.Errorf("%s: template routes %v, package routes %v", fn.LogicalID, inTemplate[fn.LogicalID], want)
		}
		if dir, _ := cfn.PackageDir(fn.LogicalID); dir != "functions/"+fn.Name {
			t.Errorf("%s is served from functions/%s, but the template builds %s", fn.LogicalID, fn.Name, dir)
		}
	}
	for id, routes := range inTemplate {
		if len(routes) > 0 && !served[id] {
			t.Errorf("%s has HTTP routes in template.yaml but is not served by the local gateway", id)
		}
	}
}
