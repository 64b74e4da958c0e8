package identity

import (
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/shared/identity"

// tokenKinds are the kinds of single-use token this package issues.
var tokenKinds = []string{TokenVerifyEmail, TokenResetPassword}

// LifecycleKinds are the items this package writes (infra/registry
// collects them; see package lifecycle).
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "account", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "the account's profile (email address, status, times), with the plan package plans keeps on it " +
			"(written by package billing), the billing state package billing keeps and the source count package sources keeps",
		Retention: lifecycle.Retention{Text: "while the account exists; an unverified signup 7 days (TTL)", TTL: true,
			Until: "account deletion"},
		Erasure: eraseAccount, Export: "account",
		Match: lifecycle.Fixed(AccountKey("").PK, AccountKey("").SK),
	},
	{
		Name: "email_claim", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "the login record: reserves an address for one account and holds its argon2id password hash",
		Retention: lifecycle.Retention{Text: "while the account exists; an unverified signup 7 days (TTL)", TTL: true,
			Until: "account deletion"},
		Erasure: eraseAccount,
		Export:  lifecycle.Withheld + "the address is in the account section; the password hash is never exported",
		Match:   lifecycle.Fixed(EmailClaimKey("").PK, EmailClaimKey("").SK),
	},
	{
		Name: "session", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "a signed-in session: the SHA-256 of its token's secret, created and last-used times",
		Retention: lifecycle.Retention{Text: "until logout or expiry (30 min idle, 12 h at most), then TTL", TTL: true,
			Until: "logout"},
		Erasure: eraseSessions, Export: "sessions",
		Match: lifecycle.Under(AccountPartition(""), SessionPrefix),
	},
	{
		Name: "token", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "a single-use email-verification or password-reset token, stored by its SHA-256 with the account id",
		Retention: lifecycle.Retention{Text: "24 h (verification) or 1 h (reset), TTL, or until used", TTL: true,
			Until: "use"},
		Erasure: eraseTokens,
		Export:  lifecycle.Withheld + "only a hash of a link's token is kept, for at most a day",
		Match:   tokenKeys(func(kind string) statetable.Key { return TokenKey(kind, "") }, false),
	},
	{
		Name: "token_pointer", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "points from an account's partition to one of its pending tokens, so a deletion finds them without a scan",
		Retention: lifecycle.Retention{Text: "as long as the token it points to (TTL)", TTL: true,
			Until: "the token's use"},
		Erasure: eraseTokens,
		Export:  lifecycle.Withheld + "it holds a token's hash; the export says that links are kept hashed",
		Match:   tokenKeys(func(kind string) statetable.Key { return TokenRefKey("", kind, "") }, true),
	},
}

// tokenKeys matches the keys key builds for each token kind (and
// whatever hash follows); underAccount asks for a non-empty account id
// in the partition key too.
func tokenKeys(key func(kind string) statetable.Key, underAccount bool) func(pk, sk string) bool {
	var ms []func(pk, sk string) bool
	for _, kind := range tokenKinds {
		k := key(kind)
		if underAccount {
			ms = append(ms, lifecycle.Under(k.PK, k.SK))
		} else {
			ms = append(ms, lifecycle.Fixed(k.PK, k.SK))
		}
	}
	return lifecycle.Any(ms...)
}
