package cfn

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse and, when they parse, to everything that reads a
// Template: none of it may panic. Without -fuzz it runs the seed corpus as a normal test.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join(repoRoot(f), "template.yaml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte(cleanFixture))
	f.Add([]byte(tablesFixture))
	for _, s := range []string{
		"",
		"Resources: {}",
		"Resources:\n  R: {Type: AWS::Serverless::Function, Properties: {Role: !GetAtt X.Arn}}\n",
		"Resources:\n  R: {Type: AWS::Serverless::Function, Properties: {Role: !GetAtt [X, Arn, Y]}}\n",
		"Resources:\n  R: {Type: AWS::Serverless::Function, Properties: {LoggingConfig: {LogGroup: !Ref R}}}\n",
		"Resources:\n  R: {Type: AWS::IAM::Policy, Properties: {Roles: [!Ref R], PolicyDocument: {Statement: [1, {Effect: Allow}]}}}\n",
		"Resources:\n  T: {Type: AWS::DynamoDB::Table, Properties: {KeySchema: [{AttributeName: a, KeyType: HASH}], LocalSecondaryIndexes: [{IndexName: i, KeySchema: [{AttributeName: a, KeyType: HASH}], Projection: {ProjectionType: ALL}}]}}\n",
		"Resources:\n  R: &a {Type: T}\n  S: *a\n",
		"Resources:\n  R: {Type: !Sub [x, {a: !Select [0, !GetAZs '']}]}\n",
		"{\"Resources\": {\"R\": {\"Type\": \"T\", \"Properties\": {\"V\": [[[[[]]]]]}}}}",
	} {
		f.Add([]byte(s))
	}
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := Parse(data)
		if err != nil {
			return
		}
		if tpl.Resources == nil || tpl.Globals == nil || tpl.Parameters == nil {
			t.Fatal("Parse succeeded with a nil section")
		}
		_ = tpl.Functions()
		_, _ = tpl.Tables(nil)
		_, _ = tpl.RoleStatements()
		_ = CheckTemplate(tpl, root)
	})
}
