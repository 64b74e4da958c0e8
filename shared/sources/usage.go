package sources

import "github.com/atrium-cdn/atrium/shared/plans"

// attrSourceCount is the attribute of the account item this package keeps:
// how many storage sources the account has, changed in the same
// transactions that add and remove them (Create, Delete).
const attrSourceCount = "source_count"

// Usage is what package sources reads of the account item to apply the
// plan's limit: the plan (package plans' view of the item) and the number
// of sources. Decode it from the account item read with the session
// (identity.Session's DecodeAccount): no second read.
type Usage struct {
	plans.Stored
	SourceCount int `dynamodbav:"source_count,omitempty"`
}
