package cfn

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/functions/compliance/complianceapi"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/emailaddr"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func loadRepositoryTemplate(t *testing.T) (*Template, string) {
	t.Helper()
	root := repoRoot(t)
	tpl, err := Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tpl, root
}

// TestRepositoryTemplate holds template.yaml to every rule of CheckTemplate and builds every
// function the template declares.
func TestRepositoryTemplate(t *testing.T) {
	tpl, root := loadRepositoryTemplate(t)
	if len(tpl.Functions()) == 0 {
		t.Fatal("template.yaml declares no AWS::Serverless::Function")
	}
	for _, err := range CheckTemplate(tpl, root) {
		t.Error(err)
	}

	for _, fn := range tpl.Functions() {
		t.Run("build/"+fn, func(t *testing.T) {
			dir, ok := PackageDir(fn)
			if !ok {
				t.Fatalf("%s does not follow <Name>Function", fn)
			}
			cmd := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(t.TempDir(), "x"), "./"+dir)
			cmd.Dir = root // environment, GOFLAGS included, inherited
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build ./%s: %v\n%s", dir, err, out)
			}
		})
	}
}

// TestRepositoryTables checks the tables the local stack and the tests will create (the state
// table and the request-log table, and no other), and the deployment settings Tables leaves out.
func TestRepositoryTables(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	tables, err := tpl.Tables(func(id string) string { return "atrium-test-" + id })
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Table{}
	for _, tb := range tables {
		byID[tb.LogicalID] = tb
	}
	if len(byID) != 2 || byID["StateTable"].Input == nil || byID["RequestLogTable"].Input == nil {
		ids := slices.Sorted(maps.Keys(byID))
		t.Fatalf("tables = %v, want [RequestLogTable StateTable]", ids)
	}
	attr := func(n string, typ types.ScalarAttributeType) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: typ}
	}
	key := func(n string, kt types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: aws.String(n), KeyType: kt}
	}
	tableKeys := []types.KeySchemaElement{key("pk", types.KeyTypeHash), key("sk", types.KeyTypeRange)}

	// Every table is named as the local stack names it: "<stack>-" + lower(logical id less
	// "Table"), so that a local table and its deployed twin differ only in the prefix.
	for _, tb := range tables {
		want := map[string]any{"Fn::Sub": "${AWS::StackName}-" + strings.ToLower(strings.TrimSuffix(tb.LogicalID, "Table"))}
		if got := tpl.Resources[tb.LogicalID].Properties["TableName"]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s TableName = %s, want %s", tb.LogicalID, text(got), text(want))
		}
		if got, want := aws.ToString(tb.Input.TableName), "atrium-test-"+tb.LogicalID; got != want {
			t.Errorf("%s: Tables named it %q, want %q", tb.LogicalID, got, want)
		}
		if tb.Input.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("%s BillingMode = %q", tb.LogicalID, tb.Input.BillingMode)
		}
		if !reflect.DeepEqual(tb.Input.KeySchema, tableKeys) {
			t.Errorf("%s KeySchema = %+v", tb.LogicalID, tb.Input.KeySchema)
		}
		// Code never trusts TTL alone; it is the safety net on both tables.
		if tb.TTLAttribute != "expires_at" {
			t.Errorf("%s TTL attribute = %q, want expires_at", tb.LogicalID, tb.TTLAttribute)
		}
		sse, _ := tpl.Resources[tb.LogicalID].Properties["SSESpecification"].(map[string]any)
		if on, ok := literalBool(sse["SSEEnabled"]); !ok || !on {
			t.Errorf("%s SSESpecification.SSEEnabled = %v, want true", tb.LogicalID, sse["SSEEnabled"])
		}
	}

	st := byID["StateTable"]
	if want := []types.AttributeDefinition{attr("pk", types.ScalarAttributeTypeS), attr("sk", types.ScalarAttributeTypeS)}; !reflect.DeepEqual(st.Input.AttributeDefinitions, want) {
		t.Errorf("StateTable AttributeDefinitions = %+v", st.Input.AttributeDefinitions)
	}
	if len(st.Input.GlobalSecondaryIndexes) != 0 || len(st.Input.LocalSecondaryIndexes) != 0 {
		t.Errorf("StateTable has indexes; the roles' comments say it has none")
	}
	// The stream that starts account deletions (DeletionFunction's JobAccepted): keys only, so
	// that no attribute (a password hash, a session, a billing state) is copied into it.
	if want := (&types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeKeysOnly}); !reflect.DeepEqual(st.Input.StreamSpecification, want) {
		t.Errorf("StateTable StreamSpecification = %s, want a KEYS_ONLY stream", text(st.Input.StreamSpecification))
	}
	raw := tpl.Resources["StateTable"].Raw
	if raw["DeletionPolicy"] != "Retain" || raw["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("StateTable DeletionPolicy/UpdateReplacePolicy = %v/%v, want Retain", raw["DeletionPolicy"], raw["UpdateReplacePolicy"])
	}
	if on, ok := pitr(tpl, "StateTable"); !ok || !on {
		t.Errorf("StateTable point-in-time recovery must be enabled explicitly")
	}

	// P6: the request-log table, its sparse expiry index (the sweep's only way to find overdue
	// items, keys only) and settings that let nothing outlive the sweep.
	rl := byID["RequestLogTable"]
	wantDefs := []types.AttributeDefinition{
		attr("pk", types.ScalarAttributeTypeS), attr("sk", types.ScalarAttributeTypeS),
		attr("expiry_shard", types.ScalarAttributeTypeS), attr("expires_at", types.ScalarAttributeTypeN),
	}
	if !reflect.DeepEqual(rl.Input.AttributeDefinitions, wantDefs) {
		t.Errorf("RequestLogTable AttributeDefinitions = %+v", rl.Input.AttributeDefinitions)
	}
	wantGSI := []types.GlobalSecondaryIndex{{
		IndexName:  aws.String(expiryIndex),
		KeySchema:  []types.KeySchemaElement{key("expiry_shard", types.KeyTypeHash), key("expires_at", types.KeyTypeRange)},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
	}}
	if !reflect.DeepEqual(rl.Input.GlobalSecondaryIndexes, wantGSI) {
		t.Errorf("RequestLogTable GlobalSecondaryIndexes = %s", text(rl.Input.GlobalSecondaryIndexes))
	}
	if len(rl.Input.LocalSecondaryIndexes) != 0 || rl.Input.StreamSpecification != nil {
		t.Errorf("RequestLogTable has a local index or a stream; neither is wanted (a stream would copy the logs)")
	}
	raw = tpl.Resources["RequestLogTable"].Raw
	if raw["DeletionPolicy"] != "Delete" || raw["UpdateReplacePolicy"] != "Delete" {
		t.Errorf("RequestLogTable DeletionPolicy/UpdateReplacePolicy = %v/%v, want Delete: a retained copy would never be swept (P6)", raw["DeletionPolicy"], raw["UpdateReplacePolicy"])
	}
	if on, ok := pitr(tpl, "RequestLogTable"); !ok || on {
		t.Errorf("RequestLogTable point-in-time recovery must be disabled explicitly: backups would keep swept logs past 90 days (P6)")
	}
}

// expiryIndex is the request-log table's index of items by expiry, through which the sweep
// finds overdue items.
const expiryIndex = "ExpiryIndex"

// pitr returns a table's PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled; ok is false
// when the template does not say it literally.
func pitr(tpl *Template, id string) (enabled, ok bool) {
	spec, _ := tpl.Resources[id].Properties["PointInTimeRecoverySpecification"].(map[string]any)
	return literalBool(spec["PointInTimeRecoveryEnabled"])
}

// TestRepositoryPermissions pins what each function may do, condition included, so that widening
// a role is a deliberate change to this test as well as to the template. A function missing from
// the list fails the test: every function's grants are pinned. CheckTemplate holds them all to
// every rule as well.
func TestRepositoryPermissions(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	stmts, err := tpl.RoleStatements()
	if err != nil {
		t.Fatal(err)
	}
	// condition is text(Statement.Condition), "" for none.
	type grant struct{ action, resource, condition string }
	logs := func(group string) []grant {
		r := text(map[string]any{"Fn::GetAtt": []any{group, "Arn"}})
		return []grant{{"logs:CreateLogStream", r, ""}, {"logs:PutLogEvents", r, ""}}
	}
	on := func(resource any) func(actions ...string) []grant {
		r := text(resource)
		return func(actions ...string) []grant {
			var g []grant
			for _, a := range actions {
				g = append(g, grant{"dynamodb:" + a, r, ""})
			}
			return g
		}
	}
	// The state table, by partition (dynamodb:LeadingKeys): each function's key prefixes, as
	// TestRepositoryLeadingKeys checks them against the key builders.
	onTable := func(partitions ...string) func(actions ...string) []grant {
		r := text(map[string]any{"Fn::GetAtt": []any{"StateTable", "Arn"}})
		values := make([]any, len(partitions))
		for i, p := range partitions {
			values[i] = p
		}
		cond := text(map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": values}})
		return func(actions ...string) []grant {
			var g []grant
			for _, a := range actions {
				g = append(g, grant{"dynamodb:" + a, r, cond})
			}
			return g
		}
	}
	// P6: request logs. Every HTTP function only puts items; the account function also queries
	// the caller's own (GET /v1/logs); only the housekeeping sweep queries the expiry index and
	// keeps its watermark item. An account's deletion (P7: the deletion function, and
	// housekeeping resuming one) queries the account's own partition of the table and deletes, in
	// batches.
	onRequestLogs := on(map[string]any{"Fn::GetAtt": []any{"RequestLogTable", "Arn"}})
	onExpiryIndex := on(map[string]any{"Fn::Sub": "${RequestLogTable.Arn}/index/" + expiryIndex})
	onStateTableStream := on(map[string]any{"Fn::GetAtt": []any{"StateTable", "StreamArn"}})
	sourceSecrets := text(map[string]any{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/sources/*"})
	onSourceSecrets := func(actions ...string) []grant {
		var g []grant
		for _, a := range actions {
			g = append(g, grant{"secretsmanager:" + a, sourceSecrets, ""})
		}
		return g
	}
	sourcesKey := text(map[string]any{"Fn::GetAtt": []any{"SourcesKey", "Arn"}})
	viaSecretsManager := text(map[string]any{"StringEquals": map[string]any{
		"kms:ViaService": map[string]any{"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"},
	}})
	// The operator's Stripe secret, and no other, for the Stripe-facing functions and the ones
	// that run account deletions (which delete the Stripe customer).
	stripeSecret := text(stripeSecretRef)
	// The pseudonym key: auth, and the account deletions (the failed-login counter's key).
	clientKey := text(map[string]any{"Ref": "ClientKeySecret"})
	// What an account deletion erases, and its job: the deletion function and housekeeping.
	deletionPartitions := []string{"ACCOUNT#*", "EMAIL#*", "TOKEN#*", "THROTTLE#login#*", "RATE#compliance#*",
		"RATE#mail-*", "STRIPE_CUSTOMER#*", "DELETION#*", "DELETIONS#pending", "INTENT#source-secret"}
	want := map[string][]grant{
		// BatchGetItem: every authenticated request reads its session and its account together.
		// DELETE /v1/account accepts a deletion in one transaction (puts and updates).
		"AuthFunction": slices.Concat(
			logs("AuthLogGroup"),
			onTable("ACCOUNT#*", "EMAIL#*", "TOKEN#*", "THROTTLE#login#*", "RATE#*", "DELETION#*", "DELETIONS#pending")("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "ConditionCheckItem"),
			onRequestLogs("PutItem"),
			[]grant{
				{"secretsmanager:GetSecretValue", text(smtpSecretRef), ""},
				{"secretsmanager:GetSecretValue", text(map[string]any{"Ref": "ClientKeySecret"}), ""},
				// The key sealing TOTP secrets: auth's alone (no other role is granted it).
				{"secretsmanager:GetSecretValue", text(map[string]any{"Ref": "MfaKeySecret"}), ""},
			},
		),
		// The export (P8) also reads the pseudonym key, to find the failed-login counter of the
		// account's address; no other secret. No DeleteItem, no PutItem: it ends no session and
		// writes no state item but the session's idle deadline (issue #13).
		"AccountFunction": slices.Concat(
			logs("AccountLogGroup"),
			onTable("ACCOUNT#*", "THROTTLE#login#*")("GetItem", "BatchGetItem", "UpdateItem", "Query"),
			onRequestLogs("PutItem"),
			onRequestLogs("Query"),
			[]grant{{"secretsmanager:GetSecretValue", text(map[string]any{"Ref": "ClientKeySecret"}), ""}},
		),
		// Writes source secrets, never reads one back: no GetSecretValue, no kms:Decrypt (P4).
		"SourcesFunction": slices.Concat(
			logs("SourcesLogGroup"),
			onTable("ACCOUNT#*", "INTENT#source-secret")("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
			onRequestLogs("PutItem"),
			onSourceSecrets("PutSecretValue", "DeleteSecret", "TagResource"),
			// SourcesKeyWriterPolicy: a secret is created under SourcesKey only (P3).
			[]grant{
				{"secretsmanager:CreateSecret", sourceSecrets, text(map[string]any{"StringEquals": map[string]any{
					"secretsmanager:KmsKeyArn": map[string]any{"Fn::GetAtt": []any{"SourcesKey", "Arn"}}}})},
				// Each new secret's resource policy, never a public one (P4).
				{"secretsmanager:PutResourcePolicy", sourceSecrets, text(map[string]any{"Bool": map[string]any{
					"secretsmanager:BlockPublicPolicy": "true"}})},
				{"kms:GenerateDataKey", sourcesKey, viaSecretsManager},
				// Secrets Manager's key-access validation only (see the template).
				{"kms:Decrypt", sourcesKey, text(map[string]any{"StringEquals": map[string]any{
					"kms:EncryptionContext:SecretVersionId": "RequestToValidateKeyAccess",
					"kms:ViaService":                        map[string]any{"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}})},
			},
		),
		// The one reader (P4). No request-log grant: it serves no HTTP request.
		"CredentialsFunction": slices.Concat(
			logs("CredentialsLogGroup"),
			onTable("ACCOUNT#*")("BatchGetItem"),
			onSourceSecrets("GetSecretValue"),
			[]grant{{"kms:Decrypt", sourcesKey, viaSecretsManager}},
		),
		// The sweep, the reconciliation of source secrets, and stalled account deletions resumed
		// with the deletion function's grants.
		"HousekeepingFunction": slices.Concat(
			logs("HousekeepingLogGroup"),
			onTable(deletionPartitions...)("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
			onSourceSecrets("DeleteSecret"),
			onExpiryIndex("Query"),
			onRequestLogs("BatchWriteItem", "GetItem", "PutItem"),
			onRequestLogs("Query"),
			[]grant{
				{"secretsmanager:GetSecretValue", stripeSecret, ""},
				{"secretsmanager:GetSecretValue", clientKey, ""},
			},
		),
		// Started by the state table's stream (its event source mapping reads the stream with this
		// role: those four actions on that one stream, and no other role may), it carries the job
		// out: the account's items and source secrets deleted (DeleteSecret only: never read, P4),
		// its request logs found and deleted, the Stripe customer deleted. Its public status route
		// (no session: no BatchGetItem) only reads. No KMS.
		"DeletionFunction": slices.Concat(
			logs("DeletionLogGroup"),
			onTable(deletionPartitions...)("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
			onStateTableStream("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"),
			onRequestLogs("PutItem"),
			onRequestLogs("Query", "BatchWriteItem"),
			onSourceSecrets("DeleteSecret"),
			[]grant{
				{"secretsmanager:GetSecretValue", stripeSecret, ""},
				{"secretsmanager:GetSecretValue", clientKey, ""},
			},
		),
		// Sessions and accounts read (together), a session touched, the Stripe customer linked (an
		// account update and a link put, in one transaction): no DeleteItem, no Query.
		"BillingFunction": slices.Concat(
			logs("BillingLogGroup"),
			onTable("ACCOUNT#*", "STRIPE_CUSTOMER#*")("GetItem", "BatchGetItem", "PutItem", "UpdateItem"),
			onRequestLogs("PutItem"),
			[]grant{{"secretsmanager:GetSecretValue", stripeSecret, ""}},
		),
		// The event ledger and the sync of an account (unlinking is an update and a delete in
		// one transaction): no Query, and no session is ever read.
		"StripeWebhookFunction": slices.Concat(
			logs("StripeWebhookLogGroup"),
			onTable("ACCOUNT#*", "STRIPE_CUSTOMER#*", "STRIPE_EVENT#*")("GetItem", "PutItem", "UpdateItem", "DeleteItem"),
			onRequestLogs("PutItem"),
			[]grant{{"secretsmanager:GetSecretValue", stripeSecret, ""}},
		),
		// Compliance requests (P9) and DMCA notices (P10): the session and its account read
		// together, the plan, the NDA acceptance, records and rate counters written one item at a
		// time (no transaction, no batch write), a request or notice taken back when its email
		// fails, the caller's own requests queried. The SMTP login and the pseudonym key, no other
		// secret (never Stripe's, never a source's), no KMS.
		"ComplianceFunction": slices.Concat(
			logs("ComplianceLogGroup"),
			onTable("ACCOUNT#*", "RATE#compliance#*", "RATE#dmca#*", "DMCA#*")("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "ConditionCheckItem"),
			onRequestLogs("PutItem"),
			[]grant{
				{"secretsmanager:GetSecretValue", text(smtpSecretRef), ""},
				{"secretsmanager:GetSecretValue", clientKey, ""},
			},
		),
	}
	for _, fn := range tpl.Functions() {
		if _, ok := want[fn]; !ok {
			t.Errorf("%s: grants not pinned; add them to this test", fn)
		}
	}
	for fn, wantGrants := range want {
		if _, ok := stmts[fn]; !ok {
			t.Errorf("%s is not in template.yaml", fn)
			continue
		}
		var got []grant
		for _, s := range stmts[fn] {
			if s.Effect != "Allow" {
				continue
			}
			cond := ""
			if s.Condition != nil {
				cond = text(s.Condition)
			}
			for _, a := range s.Actions {
				for _, r := range s.Resources {
					got = append(got, grant{a, text(r), cond})
				}
			}
		}
		if !reflect.DeepEqual(got, wantGrants) {
			t.Errorf("%s may:\n  %v\nwant:\n  %v", fn, got, wantGrants)
		}
	}
}

// TestRepositoryLeadingKeys ties each role's dynamodb:LeadingKeys to the key builders: one key of
// every kind of the state table, built by the code that builds it, is reachable by exactly the
// functions that touch that kind (worked out from their code: see each role in template.yaml).
// A key prefix renamed in the code, or a partition added to a role, fails here.
func TestRepositoryLeadingKeys(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	stmts, err := tpl.RoleStatements()
	if err != nil {
		t.Fatal(err)
	}
	var (
		account      = identity.AccountKey("acct_1").PK // and sessions, token pointers, sources, compliance records
		claim        = identity.EmailClaimKey("a@example.com").PK
		token        = identity.TokenKey("verify", "hash").PK
		loginFails   = throttle.FailureKey("login", "pseudonym").PK
		rateLogin    = throttle.RateKey("login", "pseudonym").PK
		rateRequests = throttle.RateKey(compliance.RateAction, "pseudonym").PK
		rateNotices  = throttle.RateKey("dmca", "pseudonym").PK             // complianceapi's limit on notices
		rateMail     = throttle.RateKey(throttle.MailReset, "pseudonym").PK // the per-address email caps
		intent       = sources.IntentKey(0, "src_1").PK
		customer     = billing.StripeCustomerKey("cus_1").PK
		event        = billing.StripeEventKey("evt_1").PK
		job          = deletion.JobKey("del_1").PK
		pending      = deletion.PendingKey(0, "del_1").PK
		notice       = complianceapi.NoticeKey("dmca_1").PK
	)
	all := []string{account, claim, token, loginFails, rateLogin, rateRequests, rateNotices, rateMail, intent, customer, event, job, pending, notice}
	deletion := []string{account, claim, token, loginFails, rateRequests, rateMail, intent, customer, job, pending}
	want := map[string][]string{
		"AuthFunction":          {account, claim, token, loginFails, rateLogin, rateRequests, rateNotices, rateMail, job, pending},
		"AccountFunction":       {account, loginFails},
		"SourcesFunction":       {account, intent},
		"CredentialsFunction":   {account},
		"BillingFunction":       {account, customer},
		"StripeWebhookFunction": {account, customer, event},
		"ComplianceFunction":    {account, rateRequests, rateNotices, notice},
		"DeletionFunction":      deletion,
		"HousekeepingFunction":  deletion,
	}
	for _, fn := range tpl.Functions() {
		var got []string
		for _, key := range all {
			if reachesPartition(stmts[fn], key) {
				got = append(got, key)
			}
		}
		if !reflect.DeepEqual(got, want[fn]) {
			t.Errorf("%s reaches partitions\n  %v\nwant\n  %v", fn, got, want[fn])
		}
	}
}

// reachesPartition reports whether an Allow among stmts lets an item action reach the state
// table's partition pk: no LeadingKeys condition, or a pattern of it that matches pk.
func reachesPartition(stmts []Statement, pk string) bool {
	for _, s := range stmts {
		if s.Effect != "Allow" || !slices.ContainsFunc(s.Resources, mayNameStateTable) ||
			!slices.ContainsFunc(s.Actions, func(a string) bool { return matchesAny(strings.ToLower(a), dynamoItemActions) }) {
			continue
		}
		patterns, found := leadingKeys(s.Condition)
		if !found || slices.ContainsFunc(patterns, func(p any) bool { ps, _ := p.(string); return glob(ps, pk) }) {
			return true
		}
	}
	return false
}

// TestRepositorySourcesKey checks the customer-managed key of source secrets (P3): symmetric,
// rotated, kept when the stack goes, and a key policy of its own (P4).
func TestRepositorySourcesKey(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	key, ok := tpl.Resources[SourcesKey]
	if !ok || key.Type != "AWS::KMS::Key" {
		t.Fatalf("%s is not an AWS::KMS::Key", SourcesKey)
	}
	if key.Raw["DeletionPolicy"] != "Retain" || key.Raw["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("DeletionPolicy/UpdateReplacePolicy = %v/%v, want Retain", key.Raw["DeletionPolicy"], key.Raw["UpdateReplacePolicy"])
	}
	p := key.Properties
	if on, ok := literalBool(p["EnableKeyRotation"]); !ok || !on {
		t.Errorf("EnableKeyRotation = %v, want true", p["EnableKeyRotation"])
	}
	if spec, set := p["KeySpec"]; set && spec != "SYMMETRIC_DEFAULT" {
		t.Errorf("KeySpec = %v; Secrets Manager takes only symmetric keys", spec)
	}
	if days, ok := literalInt(p["PendingWindowInDays"]); !ok || days < 7 || days > 30 {
		t.Errorf("PendingWindowInDays = %v, want 7..30", p["PendingWindowInDays"])
	}
	// CheckTemplate (TestRepositoryTemplate) holds the key policy to RuleKeyPolicy; this pins its
	// shape: administration by the account, decryption by the credentials role, encryption (and
	// the key-access validation) by the sources role, and the two Denies.
	policy, _ := p["KeyPolicy"].(map[string]any)
	var sids []string
	for _, st := range list(policy["Statement"]) {
		m, _ := st.(map[string]any)
		sids = append(sids, text(m["Sid"]))
	}
	wantSids := []string{"AccountAdministersKey", "CredentialsRoleDecryptsSourceSecrets", "SourcesRoleEncryptsSourceSecrets",
		"SourcesRoleValidatesKeyAccess", "DenyDecryptToEveryoneElse", "DenyUseOutsideSecretsManager"}
	if !reflect.DeepEqual(sids, wantSids) {
		t.Errorf("key policy statements %v, want %v", sids, wantSids)
	}

	var aliases []string
	for _, id := range tpl.ofType("AWS::KMS::Alias") {
		a := tpl.Resources[id].Properties
		if target, _ := refTarget(a["TargetKeyId"]); target == SourcesKey {
			aliases = append(aliases, text(a["AliasName"]))
		}
	}
	if want := []string{text(map[string]any{"Fn::Sub": "alias/${AWS::StackName}-sources"})}; !reflect.DeepEqual(aliases, want) {
		t.Errorf("aliases of %s = %v, want %v", SourcesKey, aliases, want)
	}
}

// TestRepositoryEnvironment pins the configuration the functions read at start: the names their
// code validates, and values that agree with the roles (the tables the roles are granted, the
// secret prefix the roles grant, the key the roles may use).
func TestRepositoryEnvironment(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	// Every function's, from Globals.
	globalFn, _ := tpl.Globals["Function"].(map[string]any)
	globalEnv, _ := globalFn["Environment"].(map[string]any)
	globalVars := map[string]string{}
	if m, ok := globalEnv["Variables"].(map[string]any); ok {
		for k, v := range m {
			globalVars[k] = text(v)
		}
	}
	wantGlobal := map[string]string{
		"STAGE":             text(map[string]any{"Ref": "Stage"}),
		"STATE_TABLE":       text(map[string]any{"Ref": "StateTable"}),
		"REQUEST_LOG_TABLE": text(map[string]any{"Ref": "RequestLogTable"}),
		"ALLOWED_ORIGINS":   text(map[string]any{"Fn::Join": []any{",", map[string]any{"Ref": "AllowedOrigins"}}}),
		"LOG_LEVEL":         "info",
	}
	if !reflect.DeepEqual(globalVars, wantGlobal) {
		t.Errorf("Globals.Function.Environment.Variables = %v, want %v", globalVars, wantGlobal)
	}

	// The SMTP host the functions that send email get: the parameter, or SES in the stack's Region.
	smtpHost := map[string]any{"Fn::If": []any{"HasSmtpHost", map[string]any{"Ref": "SmtpHost"},
		map[string]any{"Fn::Sub": "email-smtp.${AWS::Region}.amazonaws.com"}}}

	const secretPrefix = "${AWS::StackName}/sources/"
	prefix := text(map[string]any{"Fn::Sub": secretPrefix})
	// What a function that runs account deletions reads (shared/deletion/runner.ReadConfig): the
	// sources prefix and the ARNs of the two secrets it reads, never their values. No
	// STRIPE_API_URL: api.stripe.com.
	deletionEnv := map[string]string{
		"SOURCES_SECRET_PREFIX": prefix,
		"CLIENT_KEY_SECRET_ARN": text(map[string]any{"Ref": "ClientKeySecret"}),
		"STRIPE_SECRET_ARN":     text(stripeSecretRef),
	}
	want := map[string]map[string]string{
		"SourcesFunction": {
			"SOURCES_SECRET_PREFIX": prefix,
			"SOURCES_KMS_KEY_ARN":   text(map[string]any{"Fn::GetAtt": []any{"SourcesKey", "Arn"}}),
			// The roles the resource policy of each source secret trusts: the one reader
			// (the role RuleSourceSecrets lets read) and the one writer, this function's own.
			"CREDENTIALS_ROLE_ARN":   text(map[string]any{"Fn::GetAtt": []any{"CredentialsRole", "Arn"}}),
			"SOURCES_ROLE_ARN":       text(map[string]any{"Fn::GetAtt": []any{"SourcesRole", "Arn"}}),
			"SOURCES_LIMIT_STANDARD": "3",
			"SOURCES_LIMIT_PREMIUM":  "25",
			"STEP_UP_WINDOW":         "5m",
		},
		// The pseudonym key's ARN, for the export (P8); the role may read that one secret.
		"AccountFunction":      {"CLIENT_KEY_SECRET_ARN": text(map[string]any{"Ref": "ClientKeySecret"})},
		"CredentialsFunction":  {"SOURCES_SECRET_PREFIX": prefix},
		"HousekeepingFunction": deletionEnv,
		// The secret's ARN, never its value; the roles may read that one secret.
		"BillingFunction": {
			"APP_BASE_URL":      text(map[string]any{"Ref": "AppBaseUrl"}),
			"STRIPE_SECRET_ARN": text(stripeSecretRef),
			"STRIPE_PRICE_ID":   text(map[string]any{"Ref": "StripePriceId"}),
		},
		// No STRIPE_API_URL (api.stripe.com) and no STRIPE_WEBHOOK_TOLERANCE (stripe-go's default).
		"StripeWebhookFunction": {
			"STRIPE_SECRET_ARN":    text(stripeSecretRef),
			"STRIPE_PRICE_ID":      text(map[string]any{"Ref": "StripePriceId"}),
			"BILLING_GRACE_PERIOD": text(map[string]any{"Ref": "BillingGracePeriod"}),
		},
		"DeletionFunction": deletionEnv,
		// The recipients and the NDA version from their parameters (DMCA_RETENTION and
		// RATE_LIMIT_DMCA left to the code's defaults), email as the auth function sends it (checked
		// against AuthFunction below), the pseudonym key's ARN. No Stripe setting: the plan is
		// read from the account, as the webhook wrote it.
		"ComplianceFunction": {
			"ACCOUNT_MANAGER_EMAIL":       text(map[string]any{"Ref": "AccountManagerEmail"}),
			"DMCA_EMAIL":                  text(map[string]any{"Ref": "DmcaAgentEmail"}),
			"NDA_VERSION":                 text(map[string]any{"Ref": "NdaVersion"}),
			"MAIL_FROM":                   text(map[string]any{"Ref": "MailFrom"}),
			"SMTP_HOST":                   text(smtpHost),
			"SMTP_PORT":                   text(map[string]any{"Ref": "SmtpPort"}),
			"SMTP_CREDENTIALS_SECRET_ARN": text(smtpSecretRef),
			"CLIENT_KEY_SECRET_ARN":       text(map[string]any{"Ref": "ClientKeySecret"}),
		},
	}
	for fn, vars := range want {
		env, _ := tpl.Resources[fn].Properties["Environment"].(map[string]any)
		got := map[string]string{}
		if m, ok := env["Variables"].(map[string]any); ok {
			for k, v := range m {
				got[k] = text(v)
			}
		}
		if !reflect.DeepEqual(got, vars) {
			t.Errorf("%s Environment.Variables = %v, want %v", fn, got, vars)
		}
	}
	// Every function that sends email reads shared/mail's settings exactly as the auth function
	// gets them.
	envVar := func(fn, name string) (string, bool) {
		env, _ := tpl.Resources[fn].Properties["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		v, ok := vars[name]
		return text(v), ok
	}
	for _, name := range []string{"MAIL_FROM", "SMTP_HOST", "SMTP_PORT", "SMTP_CREDENTIALS_SECRET_ARN"} {
		auth, ok := envVar("AuthFunction", name)
		if !ok {
			t.Errorf("AuthFunction has no %s", name)
		}
		if got, _ := envVar("ComplianceFunction", name); got != auth {
			t.Errorf("ComplianceFunction %s = %s, want AuthFunction's %s", name, got, auth)
		}
	}
	// The prefix in the environment is the one the roles are granted (CheckTemplate holds them to
	// SourceSecretsARN), "*" aside.
	if !strings.HasSuffix(SourceSecretsARN, ":secret:"+secretPrefix+"*") {
		t.Errorf("SourceSecretsARN %q does not end in SOURCES_SECRET_PREFIX %q and \"*\"", SourceSecretsARN, secretPrefix)
	}
}

// TestRepositoryEvents checks how the functions without routes are reached: the internal
// credentials function by IAM callers, who find its ARN in an output, never by an event (P4); the
// housekeeping function by one schedule every 15 minutes; and the deletion function, beside its
// route and the HTTP API's $default route (what no route matches), by the
// state table's stream, filtered to new deletion jobs.
func TestRepositoryEvents(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	out, _ := tpl.Outputs["CredentialsFunctionArn"].(map[string]any)
	if want := map[string]any{"Fn::GetAtt": []any{CredentialsFunction, "Arn"}}; !reflect.DeepEqual(out["Value"], want) {
		t.Errorf("output CredentialsFunctionArn = %v, want %v", text(out["Value"]), text(want))
	}
	if ev, ok := tpl.Resources[CredentialsFunction].Properties["Events"]; ok {
		t.Errorf("%s has Events %v; it has none", CredentialsFunction, text(ev))
	}
	// The address the operator registers in Stripe: the HTTP API's webhook route.
	out, _ = tpl.Outputs["StripeWebhookUrl"].(map[string]any)
	if want := map[string]any{"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1/webhooks/stripe"}; !reflect.DeepEqual(out["Value"], want) {
		t.Errorf("output StripeWebhookUrl = %v, want %v", text(out["Value"]), text(want))
	}
	checkDeletionEvents(t, tpl)
	hk, _ := tpl.Resources["HousekeepingFunction"].Properties["Events"].(map[string]any)
	if len(hk) != 1 {
		t.Fatalf("HousekeepingFunction events = %v, want one schedule", text(hk))
	}
	for name, ev := range hk {
		e, _ := ev.(map[string]any)
		props, _ := e["Properties"].(map[string]any)
		if e["Type"] != "Schedule" || props["Schedule"] != "rate(15 minutes)" {
			t.Errorf("HousekeepingFunction event %s = %v, want Schedule rate(15 minutes)", name, text(e))
		}
	}
}

// TestRepositoryRequestLogAlarm checks the alarm that says the request-log sweep is late or has
// stopped (P6): on the metric the sweep emits from the housekeeping function, firing when the
// oldest overdue item is more than two hours overdue, and when the sweep reports nothing at all.
func TestRepositoryRequestLogAlarm(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	alarm, ok := tpl.Resources["RequestLogSweepAlarm"]
	if !ok || alarm.Type != "AWS::CloudWatch::Alarm" {
		t.Fatal("RequestLogSweepAlarm is not an AWS::CloudWatch::Alarm")
	}
	p := alarm.Properties
	for k, want := range map[string]any{
		"Namespace":          "Atrium",
		"MetricName":         "OldestOverdueRequestLogAge",
		"Statistic":          "Maximum",
		"ComparisonOperator": "GreaterThanThreshold",
		"TreatMissingData":   "breaching", // a sweep that stopped running alarms
	} {
		if p[k] != want {
			t.Errorf("%s = %v, want %v", k, text(p[k]), want)
		}
	}
	for k, want := range map[string]int64{"Period": 900, "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Threshold": 7200} {
		if got, ok := literalInt(p[k]); !ok || got != want {
			t.Errorf("%s = %v, want %d", k, text(p[k]), want)
		}
	}
	// A Unit that differs from the emitted one hides every datapoint; with missing data
	// breaching, the alarm would never leave ALARM.
	if u, ok := p["Unit"]; ok {
		t.Errorf("Unit = %v; leave it out", text(u))
	}
	// The dimension is the housekeeping function's own name, as its EMF output sets it.
	fnName := tpl.Resources["HousekeepingFunction"].Properties["FunctionName"]
	want := []any{map[string]any{"Name": "Function", "Value": fnName}}
	if fnName == nil || !reflect.DeepEqual(p["Dimensions"], want) {
		t.Errorf("Dimensions = %s, want %s", text(p["Dimensions"]), text(want))
	}
	wantActions := map[string]any{"Fn::If": []any{"HasAlarmTopic", []any{map[string]any{"Ref": "AlarmTopicArn"}}, map[string]any{"Ref": "AWS::NoValue"}}}
	if !reflect.DeepEqual(p["AlarmActions"], wantActions) {
		t.Errorf("AlarmActions = %s, want %s", text(p["AlarmActions"]), text(wantActions))
	}
	if _, ok := tpl.Conditions["HasAlarmTopic"]; !ok {
		t.Error("no Condition HasAlarmTopic")
	}
	if param, _ := tpl.Parameters["AlarmTopicArn"].(map[string]any); param == nil || param["Default"] != "" {
		t.Errorf("Parameter AlarmTopicArn = %v, want an optional one (Default \"\")", text(param))
	}
}

// TestRepositoryStripeParameters checks the operator's Stripe settings: the secret is one secret
// named by its full ARN (as the SMTP credentials are), so that the billing roles' GetSecretValue
// can never widen to a prefix or to every secret; the price is a price id; and the grace period's
// default is a duration the webhook function accepts.
func TestRepositoryStripeParameters(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	param := func(id string) map[string]any {
		t.Helper()
		p, _ := tpl.Parameters[id].(map[string]any)
		if p == nil || p["Type"] != "String" {
			t.Fatalf("Parameter %s = %s, want a String", id, text(p))
		}
		return p
	}
	// check compiles a parameter's AllowedPattern (Go's syntax agrees with CloudFormation's for
	// these) and holds it to the values it must accept and refuse.
	check := func(id string, accept, refuse []string) {
		t.Helper()
		s, _ := param(id)["AllowedPattern"].(string)
		re, err := regexp.Compile(s)
		if s == "" || err != nil {
			t.Errorf("%s AllowedPattern %q: %v", id, s, err)
			return
		}
		for _, v := range accept {
			if !re.MatchString(v) {
				t.Errorf("%s AllowedPattern %q refuses %q", id, s, v)
			}
		}
		for _, v := range refuse {
			if re.MatchString(v) {
				t.Errorf("%s AllowedPattern %q accepts %q", id, s, v)
			}
		}
	}

	// Optional (issue #18): empty, the stack creates the secret with a placeholder.
	secret := param("StripeSecretArn")
	if d, ok := secret["Default"]; !ok || d != "" {
		t.Errorf("StripeSecretArn Default = %v, want \"\" (the stack's own secret)", text(d))
	}
	if smtp := param("SmtpCredentialsSecretArn")["AllowedPattern"]; secret["AllowedPattern"] != smtp {
		t.Errorf("StripeSecretArn AllowedPattern = %v, want the full-ARN pattern of SmtpCredentialsSecretArn, %v", secret["AllowedPattern"], smtp)
	}
	check("StripeSecretArn",
		[]string{"", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:atrium/stripe-AbC123"},
		[]string{" ", "*", "atrium/stripe", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*",
			"arn:aws:secretsmanager:eu-west-1:123456789012:secret:atrium/*", "arn:aws:secretsmanager:*:123456789012:secret:x"})

	if _, ok := param("StripePriceId")["Default"]; ok {
		t.Error("StripePriceId has a Default; the operator names the price")
	}
	check("StripePriceId", []string{"price_1PgafmB7WZ01zgkW6dKueIc5"}, []string{"", "price_", "prod_1Pgafm", "price_1*", " price_1"})

	grace := param("BillingGracePeriod")
	def, _ := grace["Default"].(string)
	check("BillingGracePeriod", []string{def, "168h", "90m", "0h"}, []string{"", "7d", "-1h", "1h30m", "168"})
	// shared/billing.ReadSettings accepts 0 to 60 days; a default outside would stop the
	// function at its first start.
	if d, err := time.ParseDuration(def); err != nil || d != 7*24*time.Hour {
		t.Errorf("BillingGracePeriod Default = %q, want 168h (7 days)", def)
	}
}

// The secrets the Stripe-facing and the email-sending functions read: the operator's (a
// parameter), or the stack's own placeholder when the parameter is empty (issue #18).
var (
	stripeSecretRef = map[string]any{"Fn::If": []any{"CreateStripeSecret",
		map[string]any{"Ref": "StripeSecret"}, map[string]any{"Ref": "StripeSecretArn"}}}
	smtpSecretRef = map[string]any{"Fn::If": []any{"CreateSmtpSecret",
		map[string]any{"Ref": "SmtpCredentialsSecret"}, map[string]any{"Ref": "SmtpCredentialsSecretArn"}}}
)

// TestRepositoryComplianceParameters checks the compliance function's settings: the two
// recipients are addresses the operator names (no default), behind a pattern that accepts no
// address the function would refuse at start (shared/emailaddr), and the NDA version's default is
// the code's and passes the function's own check.
func TestRepositoryComplianceParameters(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	pattern := func(id string) (map[string]any, *regexp.Regexp) {
		t.Helper()
		p, _ := tpl.Parameters[id].(map[string]any)
		if p == nil || p["Type"] != "String" {
			t.Fatalf("Parameter %s = %s, want a String", id, text(p))
		}
		s, _ := p["AllowedPattern"].(string)
		re, err := regexp.Compile(s)
		if s == "" || err != nil {
			t.Fatalf("%s AllowedPattern %q: %v", id, s, err)
		}
		return p, re
	}
	// Addresses the pattern must accept, and ones it must refuse (emailaddr refuses them all).
	good := []string{"account-manager@atrium.example", "dmca.agent+intake@legal.atrium-cdn.co.uk",
		"o'brien@example.com", "x@xn--80ak6aa92e.xn--p1ai"}
	bad := []string{"", "agent", "agent@", "@example.com", "agent@localhost", "agent@example.c",
		"agent@example.com ", " agent@example.com", "a b@example.com", "agent@-example.com",
		"agent@example..com", "Agent <agent@example.com>", "agent@example.com,other@example.com",
		strings.Repeat("a", 65) + "@example.com"}
	for _, id := range []string{"AccountManagerEmail", "DmcaAgentEmail"} {
		p, re := pattern(id)
		if _, ok := p["Default"]; ok {
			t.Errorf("%s has a Default %v; the operator names the address", id, text(p["Default"]))
		}
		for _, v := range good {
			if !re.MatchString(v) {
				t.Errorf("%s AllowedPattern refuses %q", id, v)
			}
		}
		for _, v := range bad {
			if re.MatchString(v) {
				t.Errorf("%s AllowedPattern accepts %q", id, v)
			}
		}
		for _, v := range append(slices.Clone(good), bad...) {
			if _, err := emailaddr.Normalize(v); re.MatchString(v) && err != nil {
				t.Errorf("%s AllowedPattern accepts %q, which the function refuses at start", id, v)
			}
		}
	}

	p, re := pattern("NdaVersion")
	// complianceapi.DefaultNDAVersion, the version the function assumes without NDA_VERSION.
	if p["Default"] != "2026-01" {
		t.Errorf("NdaVersion Default = %v, want 2026-01", text(p["Default"]))
	}
	// complianceapi checks NDA_VERSION against ^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$ at start.
	for _, v := range []string{"2026-01", "v2", "2027.1_rev-b", strings.Repeat("a", 32)} {
		if !re.MatchString(v) {
			t.Errorf("NdaVersion AllowedPattern refuses %q", v)
		}
	}
	for _, v := range []string{"", "-2026", ".1", "2026 01", "2026#01", strings.Repeat("a", 33)} {
		if re.MatchString(v) {
			t.Errorf("NdaVersion AllowedPattern accepts %q", v)
		}
	}
}

// TestRepositoryTimeouts checks that every function behind the HTTP API answers within HTTP API's
// 30 s integration limit, and that the deletion function has room for the jobs a stream batch
// starts.
func TestRepositoryTimeouts(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	globalFn, _ := tpl.Globals["Function"].(map[string]any)
	timeout := func(fn string) int64 {
		v, ok := tpl.Resources[fn].Properties["Timeout"]
		if !ok {
			v = globalFn["Timeout"]
		}
		s, ok := literalInt(v)
		if !ok {
			t.Fatalf("%s Timeout = %s, want a number of seconds", fn, text(v))
		}
		return s
	}
	for _, fn := range tpl.Functions() {
		events, _ := tpl.Resources[fn].Properties["Events"].(map[string]any)
		for _, ev := range events {
			if e, _ := ev.(map[string]any); e["Type"] == "HttpApi" {
				if s := timeout(fn); s >= 30 {
					t.Errorf("%s Timeout = %d s; HTTP API gives up on an integration after 30 s", fn, s)
				}
				break
			}
		}
	}
	// The stream handler starts no job in its last 5 s (shared/deletion/runner streamMargin) and a job,
	// Stripe's customer deletion included, takes a few seconds: 20 s leaves each batch room.
	if s := timeout("DeletionFunction"); s < 20 {
		t.Errorf("DeletionFunction Timeout = %d s, want at least 20: a batch of new deletion jobs runs in one invocation", s)
	}
}

// checkDeletionEvents checks that the deletion function is reached by its status route and by the
// one event source mapping of the template: the state table's stream, from its oldest record,
// failed records reported one by one and retried a bounded number of times (housekeeping is the
// net), and a filter that lets through the INSERT of a deletion job's item, as
// deletion.JobKey builds it, and nothing else.
func checkDeletionEvents(t *testing.T, tpl *Template) {
	t.Helper()
	evs, _ := tpl.Resources["DeletionFunction"].Properties["Events"].(map[string]any)
	var kinds []string
	for _, ev := range evs {
		e, _ := ev.(map[string]any)
		ty, _ := e["Type"].(string)
		kinds = append(kinds, ty)
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"DynamoDB", "HttpApi", "HttpApi"}) {
		t.Errorf("DeletionFunction events are %v, want its route, the API's $default route and one stream", kinds)
	}
	if id, err := tpl.DefaultRouteFunction(); id != "DeletionFunction" || err != nil {
		t.Errorf("the $default route is served by %q (%v), want DeletionFunction", id, err)
	}
	mappings, err := tpl.StreamEvents()
	if err != nil {
		t.Fatal(err)
	}
	if len(mappings) != 1 {
		t.Fatalf("stream events = %+v, want DeletionFunction's only", mappings)
	}
	m := mappings[0]
	if m.Function != "DeletionFunction" || m.Table != StateTable || m.StartingPosition != "TRIM_HORIZON" ||
		!m.ReportBatchItemFailures || m.MaximumRetryAttempts < 0 || m.MaximumRetryAttempts > 10 || m.BatchSize > 10 || len(m.Filters) != 1 {
		t.Errorf("stream event = %+v, want DeletionFunction on StateTable's stream from TRIM_HORIZON, "+
			"ReportBatchItemFailures, a few retries, small batches, one filter", m)
	}
	id := "del_" + strings.Repeat("a", 26)
	job := deletion.JobKey(id)
	record := func(event string, k statetable.Key) []byte {
		return []byte(fmt.Sprintf(`{"eventID":"1","eventName":%q,"eventSource":"aws:dynamodb","eventVersion":"1.1","awsRegion":"us-east-1",`+
			`"dynamodb":{"Keys":{"pk":{"S":%q},"sk":{"S":%q}},"SequenceNumber":"1","SizeBytes":30,"StreamViewType":"KEYS_ONLY"}}`, event, k.PK, k.SK))
	}
	for _, c := range []struct {
		what string
		rec  []byte
		want bool
	}{
		{"a new job", record("INSERT", job), true},
		{"a job's change", record("MODIFY", job), false},
		{"a job's removal", record("REMOVE", job), false},
		{"a pending entry", record("INSERT", deletion.PendingKey(0, id)), false},
		{"an account", record("INSERT", identity.AccountKey("acct_1")), false},
		{"an email claim", record("INSERT", identity.EmailClaimKey("a@example.com")), false},
		{"another item of the job's partition", record("INSERT", statetable.Key{PK: job.PK, SK: "OTHER"}), false},
	} {
		if got, err := m.Delivers(c.rec); err != nil || got != c.want {
			t.Errorf("the filter delivers %s: %v (%v), want %v", c.what, got, err, c.want)
		}
	}
}
