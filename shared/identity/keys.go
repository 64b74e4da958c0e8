package identity

import "github.com/atrium-cdn/atrium/shared/statetable"

// The keys of the items identity owns in the state table: accounts, their
// email claims, sessions and single-use tokens (and the pointers to them).

// AccountPartition is the partition key of everything an account owns; the
// other owners (sources, compliance) put an account's items under it too,
// so that one Query finds them all.
func AccountPartition(accountID string) string { return "ACCOUNT#" + accountID }

// AccountKey is the key of an account's profile item.
func AccountKey(accountID string) statetable.Key {
	return statetable.Key{PK: AccountPartition(accountID), SK: "ACCOUNT"}
}

// SessionPrefix begins the sort key of every session item.
const SessionPrefix = "SESSION#"

// SessionKey is the key of one session of an account.
func SessionKey(accountID, sessionID string) statetable.Key {
	return statetable.Key{PK: AccountPartition(accountID), SK: SessionPrefix + sessionID}
}

// EmailClaimKey is the key of the item that reserves an address for one account.
func EmailClaimKey(normalizedEmail string) statetable.Key {
	return statetable.Key{PK: "EMAIL#" + normalizedEmail, SK: "EMAIL"}
}

// TokenKey is the key of a single-use token, stored by the hash of its value.
func TokenKey(kind, tokenHash string) statetable.Key {
	return statetable.Key{PK: "TOKEN#" + kind + "#" + tokenHash, SK: "TOKEN"}
}

// TokenRefPrefix begins the sort key of the items that point from an
// account's partition to its single-use tokens, so that deleting an account
// finds them without a scan.
const TokenRefPrefix = "TOKENREF#"

// TokenRefKey is the key of the pointer to one of an account's tokens; its
// sort key after the prefix is "<kind>#<token hash>".
func TokenRefKey(accountID, kind, tokenHash string) statetable.Key {
	return statetable.Key{PK: AccountPartition(accountID), SK: TokenRefPrefix + kind + "#" + tokenHash}
}

// Attributes of the email claim and the account item (beside attrStatus)
// that other owners' transactions condition on, through this package's functions.
const (
	attrAccountID  = "account_id"
	attrDeletionID = "deletion_id"
)
