package passkeys

import (
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/shared/passkeys"

// EraseStep is the deletion step in which Eraser removes an account's
// passkeys, its user handle and its index, and its ceremonies' challenges.
const EraseStep = "passkeys"

// ExportSection is the export's section of an account's passkeys.
const ExportSection = "passkeys"

// LifecycleKinds are the items this package writes (infra/registry
// collects them; see package lifecycle).
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "passkey", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "a passkey (WebAuthn credential) of the account: its name, credential id, public key (COSE), " +
			"authenticator model (AAGUID), transports, signature counter, backup flags, created and last-used times",
		Retention: lifecycle.Retention{Text: "until the passkey or the account is removed", Until: "its removal"},
		Erasure:   EraseStep, Export: ExportSection,
		Match: lifecycle.Under(identity.AccountPartition(""), CredentialPrefix),
	},
	{
		Name: "passkey_user", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "the account's WebAuthn user handle (32 random bytes, never the address) and how many passkeys it has",
		Retention: lifecycle.Retention{Text: "while the account exists, from its first passkey registration", Until: "account deletion"},
		Erasure:   EraseStep, Export: ExportSection,
		Match: lifecycle.Fixed(identity.AccountPartition(""), UserSK),
	},
	{
		Name: "passkey_handle", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "the index from a user handle to its account, which a passwordless login reads",
		Retention: lifecycle.Retention{Text: "while the account exists, from its first passkey registration", Until: "account deletion"},
		Erasure:   EraseStep,
		Export:    lifecycle.Withheld + "it holds the user handle and account id the passkeys section already shows",
		Match:     lifecycle.Fixed(HandleKey("").PK, HandleKey("").SK),
	},
	{
		Name: "passkey_credential_index", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "the index of a passkey's credential id (by its SHA-256) to its account and passkey, " +
			"which makes a credential id registrable once across all accounts",
		Retention: lifecycle.Retention{Text: "until the passkey or the account is removed", Until: "its removal"},
		Erasure:   EraseStep,
		Export:    lifecycle.Withheld + "it holds a hash of the credential id the passkeys section already shows, and the ids",
		Match:     lifecycle.Fixed(credentialIDPK, credentialIDSK),
	},
	{
		Name: "passkey_challenge", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "a challenge of one of the account's passkey ceremonies (registration, second factor, step-up) " +
			"with its options, single use",
		Retention: lifecycle.Retention{Text: "5 minutes (TTL) or until used", TTL: true, Until: "use"},
		Erasure:   EraseStep,
		Export:    lifecycle.NotExported + "a random challenge, used or gone within 5 minutes",
		Match:     lifecycle.Under(identity.AccountPartition(""), ChallengePrefix),
	},
	{
		Name: "passkey_login_challenge", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "the challenge of a passwordless login, single use; it names no account",
		Retention: lifecycle.Retention{Text: "5 minutes (TTL) or until used", TTL: true, Until: "use"},
		Erasure:   lifecycle.ErasedByTTL,
		Export:    lifecycle.NotExported + "a random challenge tied to no account, used or gone within 5 minutes",
		Match:     lifecycle.Fixed(LoginChallengeKey("").PK, LoginChallengeKey("").SK),
	},
}
