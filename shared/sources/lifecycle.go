package sources

import (
	"strings"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

const lifecycleOwner = "github.com/atrium-cdn/atrium/shared/sources"

// LifecycleKinds are the items this package writes, in the state table and
// in Secrets Manager (infra/registry collects them; see package lifecycle).
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "source", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "a storage source: name, type, bucket, region, prefix, endpoint, the access key id's last four characters, " +
			"its secret's ARN, the last read check",
		Retention: lifecycle.Retention{Text: "until the source or the account is deleted", Until: "the source's deletion"},
		Erasure:   eraseSources, Export: "sources",
		Match: lifecycle.Under(identity.AccountPartition(""), SourcePrefix),
	},
	{
		Name: "source_intent", Owner: lifecycleOwner, Table: lifecycle.StateTable,
		Purpose: "the write-ahead record of a source secret about to be created or deleted (account id, source id, secret name), " +
			"so a secret orphaned by a crash is found and removed",
		Retention: lifecycle.Retention{Text: "milliseconds (cleared with the source's write); a leftover is removed by housekeeping " +
			"within 15 minutes; 7 days TTL as a last resort", TTL: true, Until: "the source write it precedes"},
		Erasure: eraseSources,
		Export:  lifecycle.NotExported + "it lives for milliseconds and names only ids and a secret's name",
		Match:   lifecycle.InPartition(IntentPartition, ""),
	},
	{
		Name: "source_secret", Owner: lifecycleOwner, Table: lifecycle.SecretsManager,
		Purpose: "a source's access key id and secret access key, encrypted with the stack's KMS key, " +
			"named <prefix><account id>/<source id>",
		Retention: lifecycle.Retention{Text: "until the source is deleted (then at once, no recovery window)",
			Until: "the source's deletion"},
		Erasure: eraseSources,
		Export:  lifecycle.Withheld + "the keys are never exported; the sources section shows the access key id's last four characters",
		Match:   secretName,
	},
}

// secretName matches a source secret's name (Vault.SecretName): whatever
// prefix, then an account id and a source id.
func secretName(name, sk string) bool {
	parts := strings.Split(name, "/")
	n := len(parts)
	return sk == "" && n >= 3 && ids.Valid("acct", parts[n-2]) && ids.Valid("src", parts[n-1])
}
