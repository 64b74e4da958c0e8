package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Subject is the account an eraser erases or an exporter shows: its id
// and, while the account item still exists, its (normalised) email address
// and the account item as stored, which each owner decodes for the
// attributes it keeps there (the Stripe customer's id, say). Email and
// Item are empty once the account item is gone (a deletion resumed after
// its last step began). SessionID is the session an export is asked with
// ("" in a deletion).
type Subject struct {
	AccountID string
	Email     string
	Item      map[string]types.AttributeValue
	SessionID string
}

// Count adds n items of a category to a deletion's receipt
// (deleted.<category>).
type Count func(category string, n int) error

// Eraser is one owner's part of an account's deletion: Erase removes the
// items of the owner's kinds whose Erasure names Step, counting what it
// removed. It must be idempotent (a crashed run is resumed from its step)
// and must tolerate a Subject whose account item is gone.
type Eraser struct {
	Step  string // the deletion step (a kind's Erasure) it carries out
	Owner string // the package that owns the kinds it erases (a kind's Owner)
	Erase func(ctx context.Context, s Subject, count Count) error
}

// Exporter is one owner's section of an account's export
// (GET /v1/account/export): Section is the document's field, named by the
// Export of the kinds it shows.
type Exporter struct {
	Section string
	Owner   string
	Export  func(ctx context.Context, s Subject) (any, error)
}

// CheckErasers reports every kind of r whose Erasure names a step that no
// eraser of its owner carries out, and every eraser whose step or owner no
// kind names: a new kind cannot be left out of deletion, nor an eraser
// outlive its kinds. final is the step the deletion carries out itself
// (whatever is left in the account's partition, and the account).
func CheckErasers(r *Registry, erasers []Eraser, final string) error {
	parts := make([]ownedPart, len(erasers))
	for i, e := range erasers {
		parts[i] = ownedPart{e.Step, e.Owner}
	}
	return checkParts(r, parts, "erased by step", "eraser", func(k Kind) (string, bool) {
		return k.Erasure, k.Erasure != ErasedByTTL && k.Erasure != NotPersonal && k.Erasure != final
	})
}

// CheckExporters reports every kind of r whose Export names a section that
// no exporter of its owner fills, and every exporter whose section no kind
// of its owner names.
func CheckExporters(r *Registry, exporters []Exporter) error {
	parts := make([]ownedPart, len(exporters))
	for i, e := range exporters {
		parts[i] = ownedPart{e.Section, e.Owner}
	}
	return checkParts(r, parts, "exported in section", "exporter", func(k Kind) (string, bool) {
		return k.Export, namePattern.MatchString(k.Export) // not withheld or left out with a reason
	})
}

// ownedPart is an eraser's step or an exporter's section, with its owner.
type ownedPart struct{ name, owner string }

// checkParts pairs the part each kind names (partOf; false when it names
// none) with the parts the owners provide, and reports the kinds whose
// owner provides no such part and the parts no kind of their owner names.
func checkParts(r *Registry, parts []ownedPart, names, provider string, partOf func(Kind) (string, bool)) error {
	var errs []error
	have := map[ownedPart]bool{}
	for _, p := range parts {
		have[p] = true
	}
	named := map[ownedPart]bool{}
	for _, k := range r.Kinds() {
		name, ok := partOf(k)
		if !ok {
			continue
		}
		named[ownedPart{name, k.Owner}] = true
		if !have[ownedPart{name, k.Owner}] {
			errs = append(errs, fmt.Errorf("lifecycle kind %q is %s %q, but no %s of %s provides it", k.Name, names, name, provider, k.Owner))
		}
	}
	for _, p := range parts {
		if !named[p] {
			errs = append(errs, fmt.Errorf("%s of %s for %q serves no registered kind", provider, p.owner, p.name))
		}
	}
	return errors.Join(errs...)
}

// Steps returns the steps of the erasers, in order, each once.
func Steps(erasers []Eraser) []string {
	var out []string
	for _, e := range erasers {
		if !slices.Contains(out, e.Step) {
			out = append(out, e.Step)
		}
	}
	return out
}
