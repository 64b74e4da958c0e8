package mfa

import (
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/shared/mfa"

// exportSection is the export's section of this package's kinds.
const exportSection = "second_factors"

// LifecycleKinds are the items this package writes (infra/registry
// collects them). All live in the account's partition, so the deletion's
// last step erases them with the account (erase.go).
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "second_factor", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "a TOTP authenticator: its name, status, times, the last time step used, and its secret sealed " +
			"with AES-256-GCM under a key only the auth function can read",
		Retention: lifecycle.Retention{Text: "until removed or the account is deleted; an unconfirmed enrolment 15 minutes (TTL)",
			TTL: true, Until: "its removal"},
		Erasure: erasure, Export: exportSection,
		Match: lifecycle.Under(identity.AccountPartition(""), factorPrefix),
	},
	{
		Name: "recovery_codes", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "the SHA-256 hashes of the account's unused recovery codes and when they were made",
		Retention: lifecycle.Retention{Text: "until used, replaced, the last factor removed, or the account deleted", Until: "their use"},
		Erasure:   erasure, Export: exportSection,
		Match: lifecycle.Fixed(identity.AccountPartition(""), recoverySK),
	},
	{
		Name: "mfa_challenge", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "a login whose password proved right, waiting for its second factor: the SHA-256 of the mfa_token's " +
			"secret, the password's version, the earlier failed-login count",
		Retention: lifecycle.Retention{Text: "5 minutes (TTL) or until used", TTL: true, Until: "use"},
		Erasure:   erasure,
		Export:    lifecycle.NotExported + "a sign-in in progress, gone within five minutes; it holds only a token's hash",
		Match:     lifecycle.Under(identity.AccountPartition(""), challengePrefix),
	},
	{
		Name: "second_factor_failures", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "the account's consecutive wrong second-factor codes: the count and the last failure time",
		Retention: lifecycle.Retention{Text: "30 days after the last failure (TTL), or until a right code", TTL: true, Until: "a right code"},
		Erasure:   erasure, Export: exportSection,
		Match: lifecycle.Fixed(identity.AccountPartition(""), failuresSK),
	},
}
