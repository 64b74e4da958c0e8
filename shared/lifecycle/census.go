package lifecycle

import (
	"fmt"
	"sort"
	"strings"
)

// Key is an item's key as found in a table: pk and sk, or (outside copies)
// an id in PK and an empty SK.
type Key struct{ PK, SK string }

// Census is what a scan of one table found: how many items of each kind,
// and the items of no registered kind, or of more than one.
type Census struct {
	Table     Table
	Counts    map[string]int // by kind name
	Unknown   []Key          // matched by no kind
	Ambiguous []Key          // matched by several kinds
}

// Count classifies every key found in the table.
func (r *Registry) Count(table Table, keys []Key) Census {
	c := Census{Table: table, Counts: map[string]int{}}
	for _, k := range keys {
		switch m := r.Matching(table, k.PK, k.SK); len(m) {
		case 0:
			c.Unknown = append(c.Unknown, k)
		case 1:
			c.Counts[m[0].Name]++
		default:
			c.Ambiguous = append(c.Ambiguous, k)
		}
	}
	return c
}

// Problems describes the items of no kind, or of several, one line each.
// Only the key's shape is shown (an id or a pseudonym is reduced to its
// first characters): keys hold email addresses and account ids.
func (c Census) Problems(r *Registry) []string {
	var out []string
	for _, k := range c.Unknown {
		out = append(out, fmt.Sprintf("%s table: an item of no registered lifecycle kind: pk %q sk %q", c.Table, shape(k.PK), shape(k.SK)))
	}
	for _, k := range c.Ambiguous {
		var names []string
		for _, m := range r.Matching(c.Table, k.PK, k.SK) {
			names = append(names, m.Name)
		}
		out = append(out, fmt.Sprintf("%s table: an item of several lifecycle kinds (%s): pk %q sk %q",
			c.Table, strings.Join(names, ", "), shape(k.PK), shape(k.SK)))
	}
	return out
}

// String is the counts per kind, e.g. "account=12 session=30".
func (c Census) String() string {
	names := make([]string, 0, len(c.Counts))
	for n := range c.Counts {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%d", n, c.Counts[n])
	}
	return strings.Join(parts, " ")
}

// shape keeps a key's fixed parts (those "#"-separated parts made of
// capitals and "_", like ACCOUNT) and the first four characters of the
// others.
func shape(key string) string {
	parts := strings.Split(key, "#")
	for i, p := range parts {
		fixed := strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == ""
		if r := []rune(p); !fixed && len(r) > 4 {
			parts[i] = string(r[:4]) + "…"
		}
	}
	return strings.Join(parts, "#")
}
