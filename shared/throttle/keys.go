package throttle

import (
	"strconv"

	"github.com/atrium-cdn/atrium/shared/statetable"
)

// The keys of the counters throttle owns in the state table.

// FailureKey is the key of a consecutive-failure counter (kind "login")
// for a subject's pseudonym.
func FailureKey(kind, pseudonym string) statetable.Key {
	return statetable.Key{PK: "THROTTLE#" + kind + "#" + pseudonym, SK: "THROTTLE"}
}

// RateKey is the key of one fixed window of a per-client rate counter.
func RateKey(action, pseudonym string, windowStart int64) statetable.Key {
	return statetable.Key{PK: "RATE#" + action + "#" + pseudonym, SK: strconv.FormatInt(windowStart, 10)}
}
