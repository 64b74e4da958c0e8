package cfn

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

// TestRepositoryTables checks the state table the local stack and the tests will create.
func TestRepositoryTables(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	tables, err := tpl.Tables(func(id string) string { return "atrium-test-" + id })
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(tables, func(tb Table) bool { return tb.LogicalID == "StateTable" })
	if i < 0 {
		t.Fatalf("no StateTable among %d tables", len(tables))
	}
	st := tables[i]
	if got := aws.ToString(st.Input.TableName); got != "atrium-test-StateTable" {
		t.Errorf("TableName = %q", got)
	}
	wantKeys := []types.KeySchemaElement{
		{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
	}
	if !reflect.DeepEqual(st.Input.KeySchema, wantKeys) {
		t.Errorf("KeySchema = %+v", st.Input.KeySchema)
	}
	if st.Input.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("BillingMode = %q", st.Input.BillingMode)
	}
	if st.TTLAttribute != "expires_at" {
		t.Errorf("TTL attribute = %q, want expires_at", st.TTLAttribute)
	}

	raw := tpl.Resources["StateTable"].Raw
	if raw["DeletionPolicy"] != "Retain" || raw["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("StateTable DeletionPolicy/UpdateReplacePolicy = %v/%v, want Retain", raw["DeletionPolicy"], raw["UpdateReplacePolicy"])
	}
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
	table := text(map[string]any{"Fn::GetAtt": []any{"StateTable", "Arn"}})
	onTable := func(actions ...string) []grant {
		var g []grant
		for _, a := range actions {
			g = append(g, grant{"dynamodb:" + a, table, ""})
		}
		return g
	}
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
	want := map[string][]grant{
		"AuthFunction": slices.Concat(
			logs("AuthLogGroup"),
			onTable("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
			[]grant{
				{"secretsmanager:GetSecretValue", text(map[string]any{"Ref": "SmtpCredentialsSecretArn"}), ""},
				{"secretsmanager:GetSecretValue", text(map[string]any{"Ref": "ClientKeySecret"}), ""},
			},
		),
		"AccountFunction": slices.Concat(
			logs("AccountLogGroup"),
			onTable("GetItem", "UpdateItem", "DeleteItem", "Query"),
		),
		// Writes source secrets, never reads one back: no GetSecretValue, no kms:Decrypt (P4).
		"SourcesFunction": slices.Concat(
			logs("SourcesLogGroup"),
			onTable("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
			onSourceSecrets("CreateSecret", "PutSecretValue", "DeleteSecret", "TagResource"),
			[]grant{
				{"kms:GenerateDataKey", sourcesKey, viaSecretsManager},
				// Secrets Manager's key-access validation only (see the template).
				{"kms:Decrypt", sourcesKey, text(map[string]any{"StringEquals": map[string]any{
					"kms:EncryptionContext:SecretVersionId": "RequestToValidateKeyAccess",
					"kms:ViaService":                        map[string]any{"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}})},
			},
		),
		// The one reader (P4).
		"CredentialsFunction": slices.Concat(
			logs("CredentialsLogGroup"),
			onTable("GetItem"),
			onSourceSecrets("GetSecretValue"),
			[]grant{{"kms:Decrypt", sourcesKey, viaSecretsManager}},
		),
		"HousekeepingFunction": slices.Concat(
			logs("HousekeepingLogGroup"),
			onTable("GetItem", "Query", "DeleteItem"),
			onSourceSecrets("DeleteSecret"),
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

// TestRepositorySourcesKey checks the customer-managed key of source secrets (P3): symmetric,
// rotated, kept when the stack goes, and a key policy that leaves all use to IAM.
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
	policy, _ := p["KeyPolicy"].(map[string]any)
	stmts := list(policy["Statement"])
	wantRoot := map[string]any{
		"Sid":       "AccountRootFullControl",
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
		"Action":    "kms:*",
		"Resource":  "*",
	}
	if len(stmts) != 1 || !reflect.DeepEqual(stmts[0], wantRoot) {
		t.Errorf("key policy statements = %v\nwant only %v", text(stmts), text(wantRoot))
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

// TestRepositoryEnvironment pins the configuration the source functions read at start: the names
// their code validates, and values that agree with the roles (the secret prefix the roles grant,
// the key the roles may use).
func TestRepositoryEnvironment(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	const secretPrefix = "${AWS::StackName}/sources/"
	prefix := text(map[string]any{"Fn::Sub": secretPrefix})
	want := map[string]map[string]string{
		"SourcesFunction": {
			"SOURCES_SECRET_PREFIX":  prefix,
			"SOURCES_KMS_KEY_ARN":    text(map[string]any{"Fn::GetAtt": []any{"SourcesKey", "Arn"}}),
			"SOURCES_LIMIT_STANDARD": "3",
			"SOURCES_LIMIT_PREMIUM":  "25",
		},
		"CredentialsFunction":  {"SOURCES_SECRET_PREFIX": prefix},
		"HousekeepingFunction": {"SOURCES_SECRET_PREFIX": prefix},
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
	// The prefix in the environment is the one the roles are granted (CheckTemplate holds them to
	// SourceSecretsARN), "*" aside.
	if !strings.HasSuffix(SourceSecretsARN, ":secret:"+secretPrefix+"*") {
		t.Errorf("SourceSecretsARN %q does not end in SOURCES_SECRET_PREFIX %q and \"*\"", SourceSecretsARN, secretPrefix)
	}
}

// TestRepositoryEvents checks how the functions without routes are reached: the internal
// credentials function by IAM callers, who find its ARN in an output, never by an event (P4); the
// housekeeping function by one schedule every 15 minutes.
func TestRepositoryEvents(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	out, _ := tpl.Outputs["CredentialsFunctionArn"].(map[string]any)
	if want := map[string]any{"Fn::GetAtt": []any{CredentialsFunction, "Arn"}}; !reflect.DeepEqual(out["Value"], want) {
		t.Errorf("output CredentialsFunctionArn = %v, want %v", text(out["Value"]), text(want))
	}
	if ev, ok := tpl.Resources[CredentialsFunction].Properties["Events"]; ok {
		t.Errorf("%s has Events %v; it has none", CredentialsFunction, text(ev))
	}
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
