package compliance

import (
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/shared/compliance"

// LifecycleKinds are the items this package writes (infra/registry
// collects them; see package lifecycle).
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "nda_acceptance", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "an acceptance of one NDA version: version, time, the signatory's name and title",
		Retention: lifecycle.Retention{Text: "while the account exists", Until: "account deletion"},
		Erasure:   eraseAccount, Export: "compliance",
		Match: lifecycle.Under(identity.AccountPartition(""), NDAPrefix),
	},
	{
		Name: "compliance_request", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "a compliance request: type, status, description, dates, pen-test scope and contact name",
		Retention: lifecycle.Retention{Text: "while the account exists", Until: "account deletion"},
		Erasure:   eraseAccount, Export: "compliance",
		Match: lifecycle.Under(identity.AccountPartition(""), RequestPrefix),
	},
	{
		Name: "compliance_rate_counter", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "the count of an account's compliance requests per window, under a keyed hash of the account id",
		Retention: lifecycle.Retention{Text: "about 2 hours after the account's last compliance request (TTL; each request moves it)", TTL: true, Until: "account deletion"},
		Erasure:   eraseCounters,
		Export:    lifecycle.NotExported + "a count under a pseudonym of the account id, gone about two hours after the last request",
		Match:     throttle.RateCounterKeys(RateAction),
	},
}
