package passkeys

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// The keys of the items passkeys owns in the state table. An account's
// passkeys, its user handle and the challenges of its own ceremonies live in
// the account's partition; the index from a user handle to its account and
// the challenges of passwordless logins (which belong to no account yet)
// live in partitions of their own.

// Sort-key prefixes in an account's partition.
const (
	// CredentialPrefix begins the sort key of each of an account's passkeys.
	CredentialPrefix = "PASSKEY#"
	// ChallengePrefix begins the sort key of a challenge of one of the
	// account's ceremonies (registration, second factor, step-up).
	ChallengePrefix = "PASSKEYCHALLENGE#"
	// UserSK is the sort key of the account's WebAuthn user: its handle and
	// how many passkeys it has.
	UserSK = "PASSKEYUSER"
)

// CredentialKey is the key of one of an account's passkeys (id: "pkey_…").
func CredentialKey(accountID, id string) statetable.Key {
	return statetable.Key{PK: identity.AccountPartition(accountID), SK: CredentialPrefix + id}
}

// UserKey is the key of the account's WebAuthn user item.
func UserKey(accountID string) statetable.Key {
	return statetable.Key{PK: identity.AccountPartition(accountID), SK: UserSK}
}

// HandleKey is the key of the index item from a user handle (unpadded
// base64url) to its account, which a passwordless login reads.
func HandleKey(handle string) statetable.Key {
	return statetable.Key{PK: "PASSKEYHANDLE#" + handle, SK: "PASSKEYHANDLE"}
}

// AccountChallengeKey is the key of a challenge of one of the account's
// ceremonies, by the hex SHA-256 of the challenge.
func AccountChallengeKey(accountID, challengeHash string) statetable.Key {
	return statetable.Key{PK: identity.AccountPartition(accountID), SK: ChallengePrefix + challengeHash}
}

// LoginChallengeKey is the key of a passwordless login's challenge, by the
// hex SHA-256 of the challenge.
func LoginChallengeKey(challengeHash string) statetable.Key {
	return statetable.Key{PK: "PASSKEYCHALLENGE#" + challengeHash, SK: "PASSKEYCHALLENGE"}
}

// CredentialIDKey is the key of the global index item of a credential id,
// by the hex SHA-256 of the id: written with attribute_not_exists in the
// registration's transaction, it makes a credential id registrable once
// across all accounts (WebAuthn §7.1 step 26), not only per account.
func CredentialIDKey(credentialID []byte) statetable.Key {
	h := sha256.Sum256(credentialID)
	return statetable.Key{PK: credentialIDPK + hex.EncodeToString(h[:]), SK: credentialIDSK}
}

const (
	credentialIDPK = "PASSKEYCRED#"
	credentialIDSK = "PASSKEYCRED"
)
