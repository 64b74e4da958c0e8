package throttle

import "github.com/atrium-cdn/atrium/shared/statetable"

// The keys of the counters throttle owns in the state table.

// FailureKey is the key of a consecutive-failure counter (kind "login")
// for a subject's pseudonym.
func FailureKey(kind, pseudonym string) statetable.Key {
	return statetable.Key{PK: "THROTTLE#" + kind + "#" + pseudonym, SK: "THROTTLE"}
}

// RateKey is the key of a per-subject rate counter (Allow, Take, Gate):
// one item per action and subject, holding a count per fixed window.
func RateKey(action, pseudonym string) statetable.Key {
	return statetable.Key{PK: "RATE#" + action + "#" + pseudonym, SK: rateSK}
}

// rateSK is the sort key of every rate counter. Before the counters were
// one item per subject, each fixed window was an item, its start the sort
// key; those lived two windows at most.
const rateSK = "COUNTER"
