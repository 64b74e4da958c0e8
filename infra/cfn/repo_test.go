package cfn

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
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

// TestRepositoryPermissions pins what each existing function may do, so that widening a role
// is a deliberate change to this test as well as to the template. New functions are not
// listed here; CheckTemplate still holds them to every rule.
func TestRepositoryPermissions(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	stmts, err := tpl.RoleStatements()
	if err != nil {
		t.Fatal(err)
	}
	type grant struct{ action, resource string }
	logs := func(group string) []grant {
		r := text(map[string]any{"Fn::GetAtt": []any{group, "Arn"}})
		return []grant{{"logs:CreateLogStream", r}, {"logs:PutLogEvents", r}}
	}
	table := text(map[string]any{"Fn::GetAtt": []any{"StateTable", "Arn"}})
	onTable := func(actions ...string) []grant {
		var g []grant
		for _, a := range actions {
			g = append(g, grant{"dynamodb:" + a, table})
		}
		return g
	}
	want := map[string][]grant{
		"AuthFunction": slices.Concat(
			logs("AuthLogGroup"),
			onTable("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
			[]grant{
				{"secretsmanager:GetSecretValue", text(map[string]any{"Ref": "SmtpCredentialsSecretArn"})},
				{"secretsmanager:GetSecretValue", text(map[string]any{"Ref": "ClientKeySecret"})},
			},
		),
		"AccountFunction": slices.Concat(
			logs("AccountLogGroup"),
			onTable("GetItem", "UpdateItem", "DeleteItem", "Query"),
		),
	}
	for fn, wantGrants := range want {
		var got []grant
		for _, s := range stmts[fn] {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range s.Actions {
				for _, r := range s.Resources {
					got = append(got, grant{a, text(r)})
				}
			}
		}
		if !reflect.DeepEqual(got, wantGrants) {
			t.Errorf("%s may:\n  %v\nwant:\n  %v", fn, got, wantGrants)
		}
	}
}
