package cfn

import (
	"reflect"
	"strings"
	"testing"
)

// property parses a one-resource template whose property V is the given YAML and returns V.
func property(t *testing.T, value string) any {
	t.Helper()
	src := "Resources:\n  R:\n    Type: T\n    Properties:\n      V: " + value + "\n"
	tpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse(%q): %v", value, err)
	}
	return tpl.Resources["R"].Properties["V"]
}

func TestShortFormTags(t *testing.T) {
	type m = map[string]any
	type l = []any
	tests := []struct {
		yaml string
		want any
	}{
		{`!Ref Stage`, m{"Ref": "Stage"}},
		{`!Ref AWS::Region`, m{"Ref": "AWS::Region"}},
		{`!Condition IsProd`, m{"Condition": "IsProd"}},
		{`!GetAtt Table.Arn`, m{"Fn::GetAtt": l{"Table", "Arn"}}},
		{`!GetAtt Db.Endpoint.Address`, m{"Fn::GetAtt": l{"Db", "Endpoint.Address"}}},
		{`!GetAtt [Table, StreamArn]`, m{"Fn::GetAtt": l{"Table", "StreamArn"}}},
		{`!Sub "${AWS::StackName}-auth"`, m{"Fn::Sub": "${AWS::StackName}-auth"}},
		{`!Sub ["${A}-x", {A: !Ref Stage}]`, m{"Fn::Sub": l{"${A}-x", m{"A": m{"Ref": "Stage"}}}}},
		{`!Join [",", !Ref Origins]`, m{"Fn::Join": l{",", m{"Ref": "Origins"}}}},
		{`!If [IsProd, 30, !Ref "AWS::NoValue"]`, m{"Fn::If": l{"IsProd", 30, m{"Ref": "AWS::NoValue"}}}},
		{`!Select [0, !GetAZs ""]`, m{"Fn::Select": l{0, m{"Fn::GetAZs": ""}}}},
		{`!GetAZs eu-west-1`, m{"Fn::GetAZs": "eu-west-1"}},
		{`!Split ["/", !ImportValue SharedPath]`, m{"Fn::Split": l{"/", m{"Fn::ImportValue": "SharedPath"}}}},
		{`!ImportValue {"Fn::Sub": "${Net}-vpc"}`, m{"Fn::ImportValue": m{"Fn::Sub": "${Net}-vpc"}}},
		{`!FindInMap [Sizes, !Ref Stage, Memory]`, m{"Fn::FindInMap": l{"Sizes", m{"Ref": "Stage"}, "Memory"}}},
		{`!Base64 "#!/bin/sh"`, m{"Fn::Base64": "#!/bin/sh"}},
		{`!Cidr [10.0.0.0/16, 4, 8]`, m{"Fn::Cidr": l{"10.0.0.0/16", 4, 8}}},
		{`!Equals [!Ref Stage, prod]`, m{"Fn::Equals": l{m{"Ref": "Stage"}, "prod"}}},
		{`!Not [!Equals [!Ref Host, ""]]`, m{"Fn::Not": l{m{"Fn::Equals": l{m{"Ref": "Host"}, ""}}}}},
		{`!And [!Condition A, !Condition B]`, m{"Fn::And": l{m{"Condition": "A"}, m{"Condition": "B"}}}},
		{`!Or [!Condition A, !Not [!Condition B]]`, m{"Fn::Or": l{m{"Condition": "A"}, m{"Fn::Not": l{m{"Condition": "B"}}}}}},
		// Long forms pass through unchanged.
		{`{"Fn::GetAtt": [Table, Arn]}`, m{"Fn::GetAtt": l{"Table", "Arn"}}},
		{`{Ref: Stage}`, m{"Ref": "Stage"}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			got := property(t, tt.yaml)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
		if strings.HasPrefix(tt.yaml, "!") {
			seen[strings.Fields(tt.yaml)[0]] = true
		}
	}
	for tag := range longForm {
		if !seen[tag] {
			t.Errorf("short-form tag %s has no test", tag)
		}
	}
}

func TestShortFormTagInsideBlockSequence(t *testing.T) {
	src := `
Resources:
  R:
    Type: T
    Properties:
      V: !Join
        - ""
        - - "arn:"
          - !Ref AWS::Partition
          - !Sub ":s3:::${Bucket}/*"
`
	tpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, map[string]any{"Fn::Sub": ":s3:::${Bucket}/*"}}}}
	if got := tpl.Resources["R"].Properties["V"]; !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}

func TestScalars(t *testing.T) {
	tests := []struct {
		yaml string
		want any
	}{
		{`90`, 90},
		{`"90"`, "90"},
		{`0x10`, 16},
		{`2.5`, 2.5},
		{`true`, true},
		{`"true"`, "true"},
		{`null`, nil},
		{`~`, nil},
		{`2010-09-09`, "2010-09-09"}, // a timestamp to YAML, a string to CloudFormation
		{`bootstrap`, "bootstrap"},
		{`$default`, "$default"},
		{`99999999999999999999`, 1e20},
	}
	for _, tt := range tests {
		if got := property(t, tt.yaml); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v (%T), want %#v (%T)", tt.yaml, got, got, tt.want, tt.want)
		}
	}
}

func TestParseSections(t *testing.T) {
	src := `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function: {Timeout: 10}
Resources:
  B:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties: {CodeUri: .}
  A:
    Type: AWS::Serverless::Function
  L:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
Outputs:
  Out: {Value: !Ref B}
`
	tpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tpl.Functions(), []string{"A", "B"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Functions() = %v, want %v", got, want)
	}
	if got := tpl.Resources["B"].Metadata["BuildMethod"]; got != "makefile" {
		t.Errorf("Metadata.BuildMethod = %v", got)
	}
	if tpl.Resources["A"].Properties == nil || tpl.Resources["A"].Metadata == nil {
		t.Error("absent Properties/Metadata should be empty maps, not nil")
	}
	if got := tpl.Resources["L"].Raw["DeletionPolicy"]; got != "Retain" {
		t.Errorf("Raw.DeletionPolicy = %v", got)
	}
	if got := tpl.Globals["Function"].(map[string]any)["Timeout"]; got != 10 {
		t.Errorf("Globals.Function.Timeout = %v", got)
	}
	if got := tpl.Parameters["Stage"].(map[string]any)["Default"]; got != "dev" {
		t.Errorf("Parameters.Stage.Default = %v", got)
	}
	if _, ok := tpl.Conditions["IsProd"]; !ok {
		t.Error("Conditions.IsProd missing")
	}
	if got := tpl.Outputs["Out"].(map[string]any)["Value"]; !reflect.DeepEqual(got, map[string]any{"Ref": "B"}) {
		t.Errorf("Outputs.Out.Value = %v", got)
	}
	if tpl.Raw["Transform"] != "AWS::Serverless-2016-10-31" {
		t.Errorf("Raw.Transform = %v", tpl.Raw["Transform"])
	}
}

func TestParseJSON(t *testing.T) {
	tpl, err := Parse([]byte(`{"Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-t"}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Resources["T"].Properties["TableName"]; !reflect.DeepEqual(got, map[string]any{"Fn::Sub": "${AWS::StackName}-t"}) {
		t.Errorf("TableName = %#v", got)
	}
}

func TestParseErrors(t *testing.T) {
	deep := "Resources:\n  R:\n    Type: T\n    Properties:\n      V: " + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "empty template"},
		{"comment only", "# nothing\n", "empty template"},
		{"not a mapping", "- a\n- b\n", "not a mapping"},
		{"no resources", "Parameters: {}\n", "no Resources"},
		{"resources not a mapping", "Resources: [a]\n", "Resources is not a mapping"},
		{"resource without type", "Resources:\n  R: {Properties: {}}\n", "has no Type"},
		{"resource not a mapping", "Resources:\n  R: x\n", "is not a mapping"},
		{"bad logical id", "Resources:\n  my-res: {Type: T}\n", "logical id"},
		{"properties not a mapping", "Resources:\n  R: {Type: T, Properties: [1]}\n", "Properties is not a mapping"},
		{"alias", "Resources:\n  R: &r {Type: T}\n  S: *r\n", "aliases"},
		{"merge key", "X: &x {Type: T}\nResources:\n  R:\n    <<: {Type: T}\n", "merge keys"},
		{"unknown tag", "Resources:\n  R: {Type: !Bogus T}\n", "unknown tag !Bogus"},
		{"duplicate key", "Resources:\n  R: {Type: T}\n  R: {Type: U}\n", "duplicate key"},
		{"getatt without attribute", "Resources:\n  R: {Type: T, Properties: {V: !GetAtt Table}}\n", "Resource.Attribute"},
		{"tagged key", "Resources:\n  R: {Type: T, Properties: {!Ref X: 1}}\n", "mapping key"},
		{"syntax", "Resources: {R: [}\n", "yaml"},
		{"too deep", deep, "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(t.TempDir() + "/nope.yaml"); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}
