package throttle

import (
	"strings"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/shared/throttle"

// LifecycleKinds are the items this package writes for itself: the
// failed-login counters and the per-address email caps. The per-client
// and per-account rate counters (Allow, Gate) are registered by the
// packages that choose their actions, with RateCounterKeys.
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "failed_login_counter", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "consecutive failed logins of an address, under a keyed hash (pseudonym) of the address: the count, the last failure time and, once locked, whether the lock was announced (its email sent once)",
		Retention: lifecycle.Retention{Text: "30 days after the last failure (a year once locked), TTL, or until a success or reset",
			TTL: true, Until: "a successful login or a password reset"},
		Erasure: eraseCounters, Export: "login_failures",
		Match: lifecycle.Fixed(FailureKey("login", "").PK, FailureKey("login", "").SK),
	},
	{
		Name: "mail_cap", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "per kind of email a stranger can cause, the counts of the current and the previous clock hour in one item, under a pseudonym of the recipient's address",
		Retention: lifecycle.Retention{Text: "about 2 hours after the last email counted to the address (TTL; each one moves it)", TTL: true, Until: "account deletion"},
		Erasure:   eraseCounters,
		Export:    lifecycle.NotExported + "a count under a pseudonym of the address, gone about two hours after the last email counted",
		Match:     RateCounterKeys(MailKinds...),
	},
}

// RateCounterKeys matches the keys of the rate counters (Allow, Take, Gate)
// of the actions: one item per subject (and, written before that layout
// and gone by TTL within two windows, one per subject and window).
func RateCounterKeys(actions ...string) func(pk, sk string) bool {
	var ms []func(pk, sk string) bool
	for _, a := range actions {
		prefix := RateKey(a, "").PK
		ms = append(ms, func(pk, sk string) bool {
			return len(pk) > len(prefix) && strings.HasPrefix(pk, prefix) && (sk == rateSK || sk != "" && strings.Trim(sk, "0123456789") == "")
		})
	}
	return lifecycle.Any(ms...)
}
