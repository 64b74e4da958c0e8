package identity_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/sources"
)

// attributes lists the account-item attributes a view declares itself
// (its dynamodbav names), leaving out the views it embeds.
func attributes(v any) []string {
	typ := reflect.TypeOf(v)
	var out []string
	for i := range typ.NumField() {
		fd := typ.Field(i)
		if fd.Anonymous || !fd.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(fd.Tag.Get("dynamodbav"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = fd.Name
		}
		out = append(out, name)
	}
	return out
}

// TestAccountHoldsOnlyIdentitysAttributes: identity.Account decodes only
// identity's attributes of the account item; the plan, the billing state
// and the source count are their owners' (package plans' Stored, billing's
// Record, sources' Usage), read from the same item through DecodeAccount.
func TestAccountHoldsOnlyIdentitysAttributes(t *testing.T) {
	owner := map[string]string{}
	for pkg, view := range map[string]any{"plans": plans.Stored{}, "billing": billing.Record{}, "sources": sources.Usage{}} {
		attrs := attributes(view)
		if len(attrs) == 0 {
			t.Fatalf("package %s's view of the account item declares no attribute", pkg)
		}
		for _, a := range attrs {
			owner[a] = pkg
		}
	}
	for _, a := range attributes(identity.Account{}) {
		if pkg, ok := owner[a]; ok {
			t.Errorf("identity.Account decodes %q, which package %s owns: read it through %s", a, pkg, pkg)
		}
	}
}
