package mfa

import "github.com/atrium-cdn/atrium/shared/statetable"

// The keys of the items this package owns. Every one lives in the
// account's partition (identity.AccountPartition), so the partition's
// Query finds them, the export's census counts them and the deletion's
// last step erases them with the account.

// Prefix begins the sort key of every item of this package.
const Prefix = "MFA#"

// Sort-key prefixes of each kind.
const (
	factorPrefix    = Prefix + "FACTOR#"
	challengePrefix = Prefix + "CHALLENGE#"
	recoverySK      = Prefix + "RECOVERY"
	failuresSK      = Prefix + "FAILURES"
)

// FactorKey is the key of one second factor of an account.
func FactorKey(partition, factorID string) statetable.Key {
	return statetable.Key{PK: partition, SK: factorPrefix + factorID}
}

// ChallengeKey is the key of one pending login challenge (an mfa_token).
func ChallengeKey(partition, challengeID string) statetable.Key {
	return statetable.Key{PK: partition, SK: challengePrefix + challengeID}
}

// RecoveryKey is the key of an account's set of recovery-code hashes.
func RecoveryKey(partition string) statetable.Key {
	return statetable.Key{PK: partition, SK: recoverySK}
}

// FailuresKey is the key of the account's consecutive second-factor
// failures (throttle.TakeAttemptAt counts there).
func FailuresKey(partition string) statetable.Key {
	return statetable.Key{PK: partition, SK: failuresSK}
}
