package sources

import (
	"fmt"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// The keys of the items sources owns in the state table: sources (in their
// account's partition) and the write-ahead intents of their secrets.

// SourcePrefix begins the sort key of every source item of an account.
const SourcePrefix = "SOURCE#"

// SourceKey is the key of one of an account's storage sources.
func SourceKey(accountID, sourceID string) statetable.Key {
	return statetable.Key{PK: identity.AccountPartition(accountID), SK: SourcePrefix + sourceID}
}

// IntentPartition holds the write-ahead records of secrets being created or
// deleted, so that a secret orphaned by a crash can be found and removed.
const IntentPartition = "INTENT#source-secret"

// IntentKey is the key of one such record; its sort key orders by time.
func IntentKey(createdMillis int64, sourceID string) statetable.Key {
	return statetable.Key{PK: IntentPartition, SK: fmt.Sprintf("%013d#%s", createdMillis, sourceID)}
}
