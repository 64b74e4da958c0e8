package deletion

import (
	"fmt"

	"github.com/atrium-cdn/atrium/shared/statetable"
)

// The keys of the items deletion owns in the state table: deletion jobs
// (later their receipts) and the list of the unfinished ones.

// JobKey is the key of an account-deletion job (and, once finished, its
// receipt).
func JobKey(deletionID string) statetable.Key {
	return statetable.Key{PK: "DELETION#" + deletionID, SK: "DELETION"}
}

// PendingPartition lists the deletion jobs not yet finished, so the
// scheduled housekeeping can resume stalled ones without a scan.
const PendingPartition = "DELETIONS#pending"

// PendingKey is the key of one unfinished job's entry; its sort key orders
// by the time the deletion was accepted.
func PendingKey(acceptedMillis int64, deletionID string) statetable.Key {
	return statetable.Key{PK: PendingPartition, SK: fmt.Sprintf("%013d#%s", acceptedMillis, deletionID)}
}
