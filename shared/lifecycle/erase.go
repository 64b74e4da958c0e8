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
	var errs []error
	type stepOwner struct{ step, owner string }
	have := map[stepOwner]bool{}
	for _, e := range erasers {
		have[stepOwner{e.Step, e.Owner}] = true
	}
	named := map[stepOwner]bool{}
	for _, k := range r.Kinds() {
		if k.Erasure == ErasedByTTL || k.Erasure == NotPersonal || k.Erasure == final {
			continue
		}
		named[stepOwner{k.Erasure, k.Owner}] = true
		if !have[stepOwner{k.Erasure, k.Owner}] {
			errs = append(errs, fmt.Errorf("lifecycle kind %q is erased by step %q, but no eraser of %s carries that step out",
				k.Name, k.Erasure, k.Owner))
		}
	}
	for _, e := range erasers {
		if !named[stepOwner{e.Step, e.Owner}] {
			errs = append(errs, fmt.Errorf("eraser of %s for step %q erases no registered kind", e.Owner, e.Step))
		}
	}
	return errors.Join(errs...)
}

// CheckExporters reports every kind of r whose Export names a section that
// no exporter of its owner fills, and every exporter whose section no kind
// of its owner names.
func CheckExporters(r *Registry, exporters []Exporter) error {
	var errs []error
	type sectionOwner struct{ section, owner string }
	have := map[sectionOwner]bool{}
	for _, e := range exporters {
		have[sectionOwner{e.Section, e.Owner}] = true
	}
	named := map[sectionOwner]bool{}
	for _, k := range r.Kinds() {
		if !namePattern.MatchString(k.Export) {
			continue // withheld or not exported, with the reason
		}
		named[sectionOwner{k.Export, k.Owner}] = true
		if !have[sectionOwner{k.Export, k.Owner}] {
			errs = append(errs, fmt.Errorf("lifecycle kind %q is exported in section %q, but no exporter of %s fills it",
				k.Name, k.Export, k.Owner))
		}
	}
	for _, e := range exporters {
		if !named[sectionOwner{e.Section, e.Owner}] {
			errs = append(errs, fmt.Errorf("exporter of %s fills section %q, which no registered kind of it names", e.Owner, e.Section))
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
