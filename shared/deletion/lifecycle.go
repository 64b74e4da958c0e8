package deletion

import (
	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/shared/deletion"

// LifecycleKinds are the items this package writes (infra/registry
// collects them; see package lifecycle).
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "deletion_job", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "an account deletion: while it runs, the account id and its steps; once done, the receipt " +
			"(id, times, counts per kind, a digest; no email, no account id)",
		Retention: lifecycle.Retention{Text: "1 year after it finishes (TTL)", TTL: true},
		// The receipt outlives the account by design; the account id is
		// removed from it when the deletion finishes.
		Erasure: lifecycle.ErasedByTTL,
		Export:  lifecycle.NotExported + "it outlives the account; GET /v1/account/deletion/{id} shows it",
		Match:   lifecycle.Fixed(JobKey("").PK, JobKey("").SK),
	},
	{
		Name: "deletion_pending", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose:   "lists an unfinished deletion (its id, by time accepted) so housekeeping resumes stalled ones without a scan",
		Retention: lifecycle.Retention{Text: "until the deletion finishes", Until: "the deletion's last step"},
		Erasure:   StepAccount,
		Export:    lifecycle.NotExported + "it holds only a deletion id, for as long as the deletion runs",
		Match:     lifecycle.InPartition(PendingPartition, ""),
	},
	{
		Name: "state_stream_record", Owner: lifecycleOwner, Table: lifecycle.StateStream,
		Purpose: "the state table's stream, which starts each deletion the moment it is accepted: AWS keeps the key " +
			"(pk and sk, no other attribute) of every item written — an email claim's key holds its address, a token's its hash",
		Retention: lifecycle.Retention{Text: "24 hours, then AWS removes it (nothing can erase a record sooner)",
			Until: "24 hours after the write"},
		Erasure: lifecycle.ErasedByTTL,
		Export:  lifecycle.NotExported + "AWS keeps these copies of keys for a day, for the deletion function alone to read",
		// Every key written to the state table has its copy here.
		Match: func(pk, sk string) bool { return pk != "" && sk != "" },
	},
}
