// Package lifecycle describes every kind of item Atrium keeps about a
// person — in its two DynamoDB tables and in the copies held elsewhere
// (Secrets Manager, Stripe) — once: which package owns it, why it is kept,
// for how long, how an account's deletion erases it and where the export
// (GET /v1/account/export) shows it.
//
// Each owning package exports its kinds as a LifecycleKinds slice (no
// package initialiser registers anything); infra/registry collects them
// into a Registry. Tests then require every item found in the tables to be
// of exactly one registered kind, and the README's table of what is kept to
// name every kind.
package lifecycle

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Table is where items of a kind live.
type Table string

// The stores Atrium writes to.
const (
	StateTable      Table = "state"
	RequestLogTable Table = "request_log"
	SecretsManager  Table = "secrets_manager" // outside copy: a secret's name is its key
	Stripe          Table = "stripe"          // outside copy: the Stripe object's id is its key
	// StateStream is the state table's DynamoDB stream (KEYS_ONLY): a
	// copy of the key of every item written, kept by AWS for 24 hours.
	StateStream Table = "state_stream"
)

// Erasures that are not a deletion step (deletion.Steps).
const (
	// ErasedByTTL: no deletion step removes it; it expires (DynamoDB TTL,
	// or the request-log sweep) and reads ignore it from then on. Used for
	// items that belong to no account, or whose key cannot be derived
	// from one (a client address's pseudonym).
	ErasedByTTL = "ttl"
	// NotPersonal: about no person at all (a sweep's watermark); kept as
	// long as the feature that writes it.
	NotPersonal = "not_personal"
)

// Export prefixes of a kind that is not one of the export's sections.
const (
	Withheld    = "withheld: "     // held about the account but never exported (a secret, a hash); say why
	NotExported = "not exported: " // not the account's, or gone within minutes; say why
)

// Retention says how long items of a kind are kept.
type Retention struct {
	Text string // in the README's words, e.g. "24 h (TTL) or until used"
	TTL  bool   // items carry expires_at: DynamoDB TTL removes them, reads ignore them once expired
	// Until is the event that ends an item's life before (or without) its
	// TTL, e.g. "logout", "account deletion"; empty when only TTL ends it.
	Until string
}

// Kind is one kind of item.
type Kind struct {
	Name      string // snake_case, unique, e.g. "session"
	Owner     string // import path of the package that writes it
	Table     Table
	Purpose   string
	Retention Retention
	// Erasure is how an account's deletion erases its items: the name of
	// the deletion step that does (deletion.Steps), ErasedByTTL or NotPersonal.
	Erasure string
	// Export is the section of GET /v1/account/export that shows it (a
	// top-level field of the export document, e.g. "sessions"), or a
	// sentence beginning Withheld or NotExported saying why not.
	Export string
	// Match reports whether a key is of this kind: an item's pk and sk in
	// the tables; a secret's name (sk "") in Secrets Manager; a Stripe
	// object's id (sk "") in Stripe.
	Match func(pk, sk string) bool
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate reports what a registration lacks.
func (k Kind) Validate() error {
	var errs []error
	if !namePattern.MatchString(k.Name) {
		errs = append(errs, fmt.Errorf("name %q is not snake_case", k.Name))
	}
	if !strings.HasPrefix(k.Owner, "github.com/atrium-cdn/atrium/") {
		errs = append(errs, fmt.Errorf("owner %q is not a package of this module", k.Owner))
	}
	switch k.Table {
	case StateTable, RequestLogTable, SecretsManager, Stripe, StateStream:
	default:
		errs = append(errs, fmt.Errorf("unknown table %q", k.Table))
	}
	if strings.TrimSpace(k.Purpose) == "" {
		errs = append(errs, errors.New("no purpose"))
	}
	if strings.TrimSpace(k.Retention.Text) == "" || !k.Retention.TTL && k.Retention.Until == "" && k.Erasure != NotPersonal {
		errs = append(errs, errors.New("retention says neither a TTL nor the event that ends it"))
	}
	if !namePattern.MatchString(k.Erasure) {
		errs = append(errs, fmt.Errorf("erasure %q is neither a deletion step nor %q nor %q", k.Erasure, ErasedByTTL, NotPersonal))
	}
	if k.Erasure == ErasedByTTL && !k.Retention.TTL && k.Table != Stripe && k.Table != SecretsManager && k.Table != StateStream {
		errs = append(errs, errors.New("erased by TTL, but its items carry none"))
	}
	switch {
	case strings.HasPrefix(k.Export, Withheld), strings.HasPrefix(k.Export, NotExported):
		if len(strings.TrimSpace(k.Export)) < len(NotExported)+10 {
			errs = append(errs, errors.New("export says it is left out but not why"))
		}
	case !namePattern.MatchString(k.Export):
		errs = append(errs, fmt.Errorf("export %q is neither a section name nor a reason it is left out", k.Export))
	}
	if k.Match == nil {
		errs = append(errs, errors.New("no Match"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lifecycle kind %q: %w", k.Name, err)
	}
	return nil
}

// Registry holds the registered kinds.
type Registry struct {
	kinds map[string]Kind
}

// New returns a registry of the kinds (each owner's LifecycleKinds).
func New(owners ...[]Kind) (*Registry, error) {
	r := &Registry{kinds: map[string]Kind{}}
	var errs []error
	for _, kinds := range owners {
		for _, k := range kinds {
			errs = append(errs, r.Register(k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Register adds a kind; a kind is registered once, under a name of its own.
func (r *Registry) Register(k Kind) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if prev, ok := r.kinds[k.Name]; ok {
		return fmt.Errorf("lifecycle kind %q registered twice (by %s and %s)", k.Name, prev.Owner, k.Owner)
	}
	r.kinds[k.Name] = k
	return nil
}

// Kinds returns the registered kinds, by table then name.
func (r *Registry) Kinds() []Kind {
	out := make([]Kind, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Kind returns the kind registered under name.
func (r *Registry) Kind(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Matching returns every kind of the table whose Match accepts the key.
func (r *Registry) Matching(table Table, pk, sk string) []Kind {
	var out []Kind
	for _, k := range r.Kinds() {
		if k.Table == table && k.Match(pk, sk) {
			out = append(out, k)
		}
	}
	return out
}

// Of returns the one kind a key of the table is of; false when none, or
// more than one, matches. The table is asked because an account's
// partition key (ACCOUNT#<id>) is used in both DynamoDB tables.
func (r *Registry) Of(table Table, pk, sk string) (Kind, bool) {
	m := r.Matching(table, pk, sk)
	if len(m) != 1 {
		return Kind{}, false
	}
	return m[0], true
}
