package lifecycle

import "strings"

// Keys of a kind are described by the key builders of its owner, so a
// registration repeats no key string: pass the prefix a builder returns
// for an empty id (identity.EmailClaimKey("") is {"EMAIL#", "EMAIL"}).

// Fixed matches keys whose pk is pkPrefix followed by something (an id),
// and whose sk is exactly sk.
func Fixed(pkPrefix, sk string) func(pk, sk string) bool {
	return func(p, s string) bool { return after(p, pkPrefix) && s == sk }
}

// Under matches keys whose pk is pkPrefix followed by something and whose
// sk is skPrefix followed by something.
func Under(pkPrefix, skPrefix string) func(pk, sk string) bool {
	return func(p, s string) bool { return after(p, pkPrefix) && after(s, skPrefix) }
}

// InPartition matches the items of one fixed partition whose sk is
// skPrefix followed by something ("" for any non-empty sk).
func InPartition(pk, skPrefix string) func(pk, sk string) bool {
	return func(p, s string) bool { return p == pk && after(s, skPrefix) }
}

// Any matches a key that any of the matchers matches.
func Any(ms ...func(pk, sk string) bool) func(pk, sk string) bool {
	return func(p, s string) bool {
		for _, m := range ms {
			if m(p, s) {
				return true
			}
		}
		return false
	}
}

// after reports whether s is prefix followed by at least one character.
func after(s, prefix string) bool { return len(s) > len(prefix) && strings.HasPrefix(s, prefix) }
