package gateway_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/atrium-cdn/atrium/infra/cfn"
	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/web"
)

// The local gateway and API Gateway must route alike: every function's routes
// in template.yaml are exactly the routes its package declares, and every
// function with HTTP routes in the template is served locally.
func TestTemplateRoutesMatchTheFunctions(t *testing.T) {
	tmpl, err := cfn.Load(filepath.Join(testenv.RepoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	inTemplate := tmpl.HTTPRoutes()
	served := map[string]bool{}
	var all []string
	for _, fn := range gateway.HTTPFunctions {
		served[fn.LogicalID] = true
		want := slices.Clone(fn.Routes)
		slices.Sort(want)
		all = append(all, want...)
		// $default is no pattern of the function's: the gateway sends it
		// what no route matches (TestUnknownRoutesAreProblemsLikeEveryOther).
		routes := slices.DeleteFunc(slices.Clone(inTemplate[fn.LogicalID]), func(r string) bool { return r == cfn.DefaultRoute })
		if !slices.Equal(routes, want) {
			t.Errorf("%s: template routes %v, package routes %v", fn.LogicalID, routes, want)
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
	// The $default function answers 405 from this list.
	slices.Sort(all)
	if want := slices.Sorted(slices.Values(web.APIRoutes)); !slices.Equal(all, want) {
		t.Errorf("web.APIRoutes %v, the functions' routes %v", want, all)
	}
}
