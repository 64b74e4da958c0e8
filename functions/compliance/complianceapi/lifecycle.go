package complianceapi

import (
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/functions/compliance/complianceapi"

// dmcaRateAction names the per-client counter of DMCA notices.
const dmcaRateAction = "dmca"

// LifecycleKinds are the items this package writes: the DMCA notices and
// their rate counters (infra/registry collects them; see package
// lifecycle). An account's compliance records are package compliance's.
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "dmca_notice", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "a DMCA takedown notice with its statutory elements: the complainant's name, postal address, telephone, " +
			"email, signature, the two URLs and statements",
		Retention: lifecycle.Retention{Text: "DMCA_RETENTION (3 years), then TTL", TTL: true},
		// A notice belongs to no account: a complainant need not have one.
		Erasure: lifecycle.ErasedByTTL,
		Export:  lifecycle.NotExported + "a notice belongs to no account; it is emailed to the DMCA agent",
		Match:   lifecycle.Fixed(NoticeKey("").PK, NoticeKey("").SK),
	},
	{
		Name: "dmca_rate_counter", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "the count of DMCA notices per client address and minute, under a keyed hash of the address",
		Retention: lifecycle.Retention{Text: "about 2 minutes after the client's last notice (TTL; each notice moves it)", TTL: true},
		Erasure:   lifecycle.ErasedByTTL,
		Export:    lifecycle.NotExported + "a count under a pseudonym of a client address, tied to no account",
		Match:     throttle.RateCounterKeys(dmcaRateAction),
	},
}
