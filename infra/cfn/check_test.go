package cfn

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// cleanFixture keeps every rule. Each case of TestCheckTemplate breaks it in one place.
const cleanFixture = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  SmtpSecretArn: {Type: String}
Conditions:
  IsProd: !Equals [!Ref "AWS::StackName", prod]
Resources:
  StateTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  SourcesKey:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Statement:
          - Sid: Administer
            Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: [kms:CreateAlias, "kms:Describe*", "kms:Put*", kms:ScheduleKeyDeletion]
            Resource: "*"
          - Sid: CredentialsDecrypt
            Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: kms:Decrypt
            Resource: "*"
            Condition:
              ArnEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}
              StringEquals: {kms:ViaService: secretsmanager.eu-west-1.amazonaws.com}
          - Sid: AlphaEncrypt
            Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: [kms:GenerateDataKey]
            Resource: "*"
            Condition:
              ArnEquals: {aws:PrincipalArn: !GetAtt AlphaRole.Arn}
              StringEquals: {kms:ViaService: secretsmanager.eu-west-1.amazonaws.com}
          - Sid: DenyDecrypt
            Effect: Deny
            Principal: {AWS: "*"}
            Action: [kms:Decrypt, "kms:ReEncrypt*"]
            Resource: "*"
            Condition:
              ArnNotEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}

  AlphaFunction:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt AlphaRole.Arn
      LoggingConfig:
        LogGroup: !Ref AlphaLogGroup
        LogFormat: JSON
      Events:
        Get:
          Type: HttpApi
          Properties: {Path: /a, Method: GET}
  AlphaLogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: 90
  AlphaRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: alpha
          PolicyDocument:
            Statement:
              - Sid: Items
                Effect: Allow
                Action: [dynamodb:GetItem, dynamodb:Query]
                Resource: [!GetAtt StateTable.Arn, !Sub "${StateTable.Arn}/index/*"]
                Condition: {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ACCOUNT#*", "RATE#alpha#*"]}}
              - Sid: Smtp
                Effect: Allow
                Action: secretsmanager:GetSecretValue
                Resource: !Ref SmtpSecretArn
              - Sid: NeverDropTables
                Effect: Deny
                Action: dynamodb:DeleteTable
                Resource: "*"
              - Sid: WriteSources
                Effect: Allow
                Action: [secretsmanager:PutSecretValue, secretsmanager:DeleteSecret, secretsmanager:TagResource]
                Resource: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/sources/*"
              - Sid: EncryptSources
                Effect: Allow
                Action: kms:GenerateDataKey
                Resource: !GetAtt SourcesKey.Arn
                Condition: {StringEquals: {"kms:ViaService": !Sub "secretsmanager.${AWS::Region}.amazonaws.com"}}
              - Sid: CreateSources
                Effect: Allow
                Action: secretsmanager:CreateSecret
                Resource: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/sources/*"
                Condition: {StringEquals: {secretsmanager:KmsKeyArn: !GetAtt SourcesKey.Arn}}
              - Sid: ProtectSources
                Effect: Allow
                Action: secretsmanager:PutResourcePolicy
                Resource: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/sources/*"
                Condition: {Bool: {secretsmanager:BlockPublicPolicy: "true"}}
              - Sid: NoSourceReads
                Effect: Deny
                Action: [secretsmanager:GetSecretValue]
                Resource: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/sources/*"

  CredentialsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Role: !GetAtt CredentialsRole.Arn
      LoggingConfig:
        LogGroup: !Ref CredentialsLogGroup
  CredentialsLogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: "90"
  CredentialsRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: credentials
          PolicyDocument:
            Statement:
              - Sid: ReadSources
                Effect: Allow
                Action: secretsmanager:GetSecretValue
                Resource: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/sources/*"
              - Sid: DecryptSources
                Effect: Allow
                Action: [kms:Decrypt]
                Resource: !GetAtt SourcesKey.Arn
                Condition:
                  StringEquals:
                    kms:ViaService: !Sub "secretsmanager.${AWS::Region}.amazonaws.com"
`

// Pieces of cleanFixture the P4 cases edit.
const (
	fixtureSourcesARN   = `!Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/sources/*"`
	fixtureWriteActions = "Action: [secretsmanager:PutSecretValue, secretsmanager:DeleteSecret, secretsmanager:TagResource]"
	fixtureWriteSources = fixtureWriteActions + "\n                Resource: " + fixtureSourcesARN
	fixtureReadSources  = "Action: secretsmanager:GetSecretValue\n                Resource: " + fixtureSourcesARN
	fixtureSmtp         = "Action: secretsmanager:GetSecretValue\n                Resource: !Ref SmtpSecretArn"
	fixtureAlphaVia     = `Condition: {StringEquals: {"kms:ViaService": !Sub "secretsmanager.${AWS::Region}.amazonaws.com"}}`
	fixtureCredVia      = `kms:ViaService: !Sub "secretsmanager.${AWS::Region}.amazonaws.com"`
	fixtureCredCond     = "                Condition:\n                  StringEquals:\n                    " + fixtureCredVia + "\n"
	fixtureLeadingKeys  = `                Condition: {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ACCOUNT#*", "RATE#alpha#*"]}}` + "\n"
)

// fixtureRoot makes a repository root holding functions/<name>/main.go for each name.
func fixtureRoot(t *testing.T, names ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, n := range names {
		dir := filepath.Join(root, "functions", n)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type finding struct {
	Rule     Rule
	Resource string
}

func findings(t *testing.T, errs []error) []finding {
	t.Helper()
	var out []finding
	for _, err := range errs {
		var p *Problem
		if !errors.As(err, &p) {
			t.Fatalf("CheckTemplate returned %T (%v), want *Problem", err, err)
		}
		out = append(out, finding{p.Rule, p.Resource})
	}
	return out
}

func TestCheckTemplate(t *testing.T) {
	type edit struct{ old, new string }
	tests := []struct {
		name      string
		edits     []edit
		noPackage string // function package left out of the fixture root
		want      []finding
	}{
		{name: "clean", want: nil},

		// Wildcards.
		{
			// "dynamodb:*" includes Scan, which LeadingKeys cannot limit.
			name:  "wildcard action",
			edits: []edit{{"Action: [dynamodb:GetItem, dynamodb:Query]", `Action: [dynamodb:GetItem, "dynamodb:*"]`}},
			want:  []finding{{RuleLeadingKeys, "AlphaFunction"}, {RuleWildcardAction, "AlphaFunction"}},
		},
		{
			name:  "wildcard action, mixed case, on secretsmanager",
			edits: []edit{{"Action: secretsmanager:GetSecretValue\n                Resource: !Ref SmtpSecretArn", "Action: SecretsManager:GetSecret*\n                Resource: !Ref SmtpSecretArn"}},
			want:  []finding{{RuleWildcardAction, "AlphaFunction"}},
		},
		{
			// "kms:*" includes kms:CreateGrant and kms:PutKeyPolicy, which nobody may hold.
			name:  "wildcard action on kms, even for CredentialsFunction",
			edits: []edit{{"Action: [kms:Decrypt]", `Action: ["kms:*"]`}},
			want:  []finding{{RuleKMSDecrypt, "CredentialsFunction"}, {RuleWildcardAction, "CredentialsFunction"}},
		},
		{
			// "*" is every action: a wildcard, and it also includes GetSecretValue, kms:Decrypt, KMS
			// use without kms:ViaService, secret writes, CreateSecret without SourcesKey,
			// PutResourcePolicy without BlockPublicPolicy and a Scan of the state table, all on
			// resources holding "*", so eight rules break at once.
			name:  "action star",
			edits: []edit{{"Action: [dynamodb:GetItem, dynamodb:Query]", `Action: "*"`}},
			want: []finding{
				{RuleLeadingKeys, "AlphaFunction"}, {RuleCreateSecretKey, "AlphaFunction"}, {RuleKMSDecrypt, "AlphaFunction"},
				{RuleKMSViaService, "AlphaFunction"}, {RuleSecretPolicy, "AlphaFunction"}, {RuleSecretWrites, "AlphaFunction"},
				{RuleSourceSecrets, "AlphaFunction"}, {RuleWildcardAction, "AlphaFunction"},
			},
		},
		{
			name:  "wildcard resource",
			edits: []edit{{`Resource: [!GetAtt StateTable.Arn, !Sub "${StateTable.Arn}/index/*"]`, `Resource: "*"`}},
			want:  []finding{{RuleWildcardResource, "AlphaFunction"}},
		},
		{
			name:  "wildcard inside a resource: every table",
			edits: []edit{{`Resource: [!GetAtt StateTable.Arn, !Sub "${StateTable.Arn}/index/*"]`, `Resource: !Sub "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"`}},
			want:  []finding{{RuleWildcardResource, "AlphaFunction"}},
		},
		{
			name:  "wildcard inside a resource: any Region's table",
			edits: []edit{{`Resource: [!GetAtt StateTable.Arn, !Sub "${StateTable.Arn}/index/*"]`, `Resource: "arn:aws:dynamodb:*:123456789012:table/t"`}},
			want:  []finding{{RuleWildcardResource, "AlphaFunction"}},
		},
		{
			name:  "wildcard resource hidden in !If",
			edits: []edit{{`Resource: [!GetAtt StateTable.Arn, !Sub "${StateTable.Arn}/index/*"]`, `Resource: !If [IsProd, !GetAtt StateTable.Arn, "*"]`}},
			want:  []finding{{RuleWildcardResource, "AlphaFunction"}},
		},
		{
			name:  "NotAction",
			edits: []edit{{"Action: secretsmanager:GetSecretValue\n                Resource: !Ref SmtpSecretArn", "NotAction: iam:*\n                Resource: !Ref SmtpSecretArn"}},
			want:  []finding{{RuleOpenStatement, "AlphaFunction"}},
		},

		// Log groups (P6).
		{
			name:  "missing log group",
			edits: []edit{{"      LoggingConfig:\n        LogGroup: !Ref AlphaLogGroup\n        LogFormat: JSON\n", ""}},
			want:  []finding{{RuleLogGroup, "AlphaFunction"}},
		},
		{
			name:  "log group by name, not by reference",
			edits: []edit{{"LogGroup: !Ref AlphaLogGroup", "LogGroup: /aws/lambda/alpha"}},
			want:  []finding{{RuleLogGroup, "AlphaFunction"}},
		},
		{
			name:  "retention 30",
			edits: []edit{{"RetentionInDays: 90", "RetentionInDays: 30"}},
			want:  []finding{{RuleLogRetention, "AlphaFunction"}},
		},
		{
			name:  "retention unset",
			edits: []edit{{"    Properties:\n      RetentionInDays: 90\n", ""}},
			want:  []finding{{RuleLogRetention, "AlphaFunction"}},
		},
		{
			name:  "shared log group",
			edits: []edit{{"LogGroup: !Ref CredentialsLogGroup", "LogGroup: !Ref AlphaLogGroup"}},
			want:  []finding{{RuleSharedLogGroup, "AlphaLogGroup"}},
		},

		// Roles.
		{
			name: "shared role",
			// Sharing also hands CredentialsFunction the SMTP secret, which it may not read, and
			// leaves the key policy's decryption and its Deny naming a role no longer the
			// credentials function's.
			edits: []edit{{"Role: !GetAtt CredentialsRole.Arn", "Role: !GetAtt AlphaRole.Arn"}},
			want: []finding{{RuleSharedRole, "AlphaRole"}, {RuleSourceSecrets, "CredentialsFunction"},
				{RuleKeyPolicy, SourcesKey}, {RuleKeyPolicy, SourcesKey}},
		},
		{
			name:  "no role",
			edits: []edit{{"      Role: !GetAtt AlphaRole.Arn\n", ""}},
			want:  []finding{{RuleOwnRole, "AlphaFunction"}},
		},
		{
			name:  "role given as an ARN string",
			edits: []edit{{"Role: !GetAtt AlphaRole.Arn", "Role: arn:aws:iam::123456789012:role/alpha"}},
			want:  []finding{{RuleOwnRole, "AlphaFunction"}},
		},
		{
			name:  "SAM policy template",
			edits: []edit{{"      Role: !GetAtt AlphaRole.Arn\n", "      Role: !GetAtt AlphaRole.Arn\n      Policies:\n        - DynamoDBCrudPolicy: {TableName: !Ref StateTable}\n"}},
			want:  []finding{{RuleUnreadablePolicy, "AlphaFunction"}},
		},
		{
			name:  "managed policy on the role",
			edits: []edit{{"    Properties:\n      Policies:\n        - PolicyName: alpha", "    Properties:\n      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]\n      Policies:\n        - PolicyName: alpha"}},
			want:  []finding{{RuleUnreadablePolicy, "AlphaRole"}},
		},
		{
			name:  "action chosen by an intrinsic",
			edits: []edit{{"Action: [dynamodb:GetItem, dynamodb:Query]", "Action: !If [IsProd, dynamodb:GetItem, dynamodb:Scan]"}},
			want:  []finding{{RuleUnreadablePolicy, "AlphaRole"}},
		},

		// P4.
		{
			name:  "GetSecretValue on sources/ outside CredentialsFunction",
			edits: []edit{{"Resource: !Ref SmtpSecretArn", `Resource: !Sub "arn:aws:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:atrium/sources/src_1-AbCdEf"`}},
			want:  []finding{{RuleSourceSecrets, "AlphaFunction"}},
		},
		{
			name:  "GetSecretValue on a wildcard secret outside CredentialsFunction",
			edits: []edit{{"Resource: !Ref SmtpSecretArn", "Resource: arn:aws:secretsmanager:eu-west-1:123456789012:secret:atrium/*"}},
			want:  []finding{{RuleSourceSecrets, "AlphaFunction"}, {RuleWildcardResource, "AlphaFunction"}},
		},
		{
			name:  "kms:Decrypt outside CredentialsFunction",
			edits: []edit{{"Action: secretsmanager:GetSecretValue\n                Resource: !Ref SmtpSecretArn", "Action: [secretsmanager:GetSecretValue, KMS:Decrypt]\n                Resource: !Ref SmtpSecretArn"}},
			want:  []finding{{RuleKMSDecrypt, "AlphaFunction"}},
		},
		{
			name: "kms:Decrypt through an attached AWS::IAM::Policy",
			edits: []edit{{"  SourcesKey:\n", `  AlphaExtra:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [!Ref AlphaRole]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: kms:Decrypt
            Resource: !GetAtt SourcesKey.Arn
            Condition: {StringEquals: {kms:ViaService: secretsmanager.eu-west-1.amazonaws.com}}
  SourcesKey:
`}},
			want: []finding{{RuleKMSDecrypt, "AlphaFunction"}},
		},
		{
			name:  "GetSecretValue on the sources prefix (!Sub ${AWS::StackName}/sources/*) outside CredentialsFunction",
			edits: []edit{{"Resource: !Ref SmtpSecretArn", "Resource: " + fixtureSourcesARN}},
			want:  []finding{{RuleSourceSecrets, "AlphaFunction"}},
		},
		{
			name:  "GetSecretValue beside the writes on the sources prefix",
			edits: []edit{{fixtureWriteActions, "Action: [secretsmanager:PutSecretValue, secretsmanager:GetSecretValue]"}},
			want:  []finding{{RuleSourceSecrets, "AlphaFunction"}},
		},
		{
			name:  "kms:Decrypt outside CredentialsFunction, even through Secrets Manager",
			edits: []edit{{"Action: kms:GenerateDataKey", "Action: [kms:GenerateDataKey, kms:Decrypt]"}},
			want:  []finding{{RuleKMSDecrypt, "AlphaFunction"}},
		},
		{
			name:  "kms:CreateGrant outside CredentialsFunction",
			edits: []edit{{"Action: kms:GenerateDataKey", "Action: [kms:GenerateDataKey, kms:CreateGrant]"}},
			want:  []finding{{RuleKMSDecrypt, "AlphaFunction"}},
		},
		{
			name:  "kms:ReEncryptFrom in CredentialsFunction",
			edits: []edit{{"Action: [kms:Decrypt]", "Action: [kms:Decrypt, kms:ReEncryptFrom]"}},
			want:  []finding{{RuleKMSDecrypt, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction reads every secret",
			edits: []edit{{fixtureReadSources, "Action: secretsmanager:GetSecretValue\n                Resource: \"*\""}},
			want:  []finding{{RuleSourceSecrets, "CredentialsFunction"}, {RuleWildcardResource, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction reads under another prefix",
			edits: []edit{{fixtureReadSources, "Action: secretsmanager:GetSecretValue\n                Resource: !Sub \"arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/*\""}},
			want:  []finding{{RuleSourceSecrets, "CredentialsFunction"}, {RuleWildcardResource, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction reads the SMTP secret too",
			edits: []edit{{fixtureReadSources, "Action: secretsmanager:GetSecretValue\n                Resource: [" + fixtureSourcesARN + ", !Ref SmtpSecretArn]"}},
			want:  []finding{{RuleSourceSecrets, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction decrypts with another key",
			edits: []edit{{"Action: [kms:Decrypt]\n                Resource: !GetAtt SourcesKey.Arn", "Action: [kms:Decrypt]\n                Resource: !GetAtt OtherKey.Arn"}},
			want:  []finding{{RuleKMSDecrypt, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction decrypts without kms:ViaService",
			edits: []edit{{fixtureCredCond, ""}},
			want:  []finding{{RuleKMSViaService, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction decrypts through another service",
			edits: []edit{{fixtureCredVia, `kms:ViaService: !Sub "s3.${AWS::Region}.amazonaws.com"`}},
			want:  []finding{{RuleKMSViaService, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction decrypts through Secrets Manager or S3",
			edits: []edit{{fixtureCredVia, `kms:ViaService: [!Sub "secretsmanager.${AWS::Region}.amazonaws.com", !Sub "s3.${AWS::Region}.amazonaws.com"]`}},
			want:  []finding{{RuleKMSViaService, "CredentialsFunction"}},
		},
		{
			name:  "kms:ViaService under StringLike",
			edits: []edit{{"StringEquals:\n                    " + fixtureCredVia, "StringLike:\n                    " + fixtureCredVia}},
			want:  []finding{{RuleKMSViaService, "CredentialsFunction"}},
		},
		{
			name:  "kms:ViaService as a literal Region, in another case",
			edits: []edit{{fixtureCredVia, "KMS:viaservice: secretsmanager.eu-west-1.amazonaws.com"}},
			want:  nil,
		},
		{
			name:  "kms:ViaService beside a narrower condition",
			edits: []edit{{fixtureCredVia, fixtureCredVia + "\n                    kms:CallerAccount: !Ref AWS::AccountId"}},
			want:  nil,
		},
		{
			name:  "condition that is not a mapping",
			edits: []edit{{fixtureCredCond, "                Condition: [x]\n"}},
			want:  []finding{{RuleUnreadablePolicy, "CredentialsRole"}},
		},
		{
			name:  "GenerateDataKey without kms:ViaService",
			edits: []edit{{"                " + fixtureAlphaVia + "\n", ""}},
			want:  []finding{{RuleKMSViaService, "AlphaFunction"}},
		},
		{
			name:  "GenerateDataKey on every key of the account without kms:ViaService",
			edits: []edit{{"Resource: !GetAtt SourcesKey.Arn\n                " + fixtureAlphaVia, `Resource: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"`}},
			want:  []finding{{RuleKMSViaService, "AlphaFunction"}, {RuleWildcardResource, "AlphaFunction"}},
		},
		{
			name:  "secret writes under another prefix",
			edits: []edit{{fixtureWriteSources, fixtureWriteActions + "\n                Resource: !Sub \"arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/*\""}},
			want:  []finding{{RuleSecretWrites, "AlphaFunction"}, {RuleWildcardResource, "AlphaFunction"}},
		},
		{
			name:  "secret writes on every secret",
			edits: []edit{{fixtureWriteSources, fixtureWriteActions + "\n                Resource: \"*\""}},
			want:  []finding{{RuleSecretWrites, "AlphaFunction"}, {RuleWildcardResource, "AlphaFunction"}},
		},
		{
			name:  "UpdateSecret on a secret named by a literal ARN",
			edits: []edit{{fixtureSmtp, "Action: [secretsmanager:GetSecretValue, secretsmanager:UpdateSecret]\n                Resource: arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-AbCdEf"}},
			want:  []finding{{RuleSecretWrites, "AlphaFunction"}},
		},
		{
			// Not one of the five the sources function uses: any secretsmanager action not known
			// to be a read is a write.
			name:  "RestoreSecret under another prefix",
			edits: []edit{{fixtureSmtp, "Action: secretsmanager:RestoreSecret\n                Resource: arn:aws:secretsmanager:eu-west-1:123456789012:secret:atrium/other-??????"}},
			want:  []finding{{RuleSecretWrites, "AlphaFunction"}},
		},
		{
			name:  "PutSecretValue on the SMTP secret parameter",
			edits: []edit{{fixtureSmtp, "Action: [secretsmanager:GetSecretValue, secretsmanager:PutSecretValue]\n                Resource: !Ref SmtpSecretArn"}},
			want:  nil,
		},
		{
			name: "PutSecretValue on a secret of the template",
			edits: []edit{
				{"  SourcesKey:\n", "  ClientKey:\n    Type: AWS::SecretsManager::Secret\n  SourcesKey:\n"},
				{fixtureSmtp, "Action: [secretsmanager:GetSecretValue, secretsmanager:PutSecretValue]\n                Resource: [!Ref SmtpSecretArn, !Ref ClientKey]"},
			},
			want: nil,
		},
		{
			name: "PutSecretValue on a !Ref of something that is not a secret",
			edits: []edit{
				{fixtureSmtp, "Action: secretsmanager:PutSecretValue\n                Resource: !Ref StateTable"},
			},
			want: []finding{{RuleSecretWrites, "AlphaFunction"}},
		},
		{
			name:  "CredentialsFunction reachable through the API",
			edits: []edit{{"        LogGroup: !Ref CredentialsLogGroup\n", "        LogGroup: !Ref CredentialsLogGroup\n      Events:\n        Read: {Type: HttpApi, Properties: {Path: /creds, Method: GET}}\n"}},
			want:  []finding{{RuleCredentialsAddressable, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction with a function URL",
			edits: []edit{{"        LogGroup: !Ref CredentialsLogGroup\n", "        LogGroup: !Ref CredentialsLogGroup\n      FunctionUrlConfig: {AuthType: NONE}\n"}},
			want:  []finding{{RuleCredentialsAddressable, "CredentialsFunction"}},
		},

		{
			name:  "CredentialsFunction with a schedule",
			edits: []edit{{"        LogGroup: !Ref CredentialsLogGroup\n", "        LogGroup: !Ref CredentialsLogGroup\n      Events:\n        Tick: {Type: Schedule, Properties: {Schedule: rate(1 hour)}}\n"}},
			want:  []finding{{RuleCredentialsAddressable, "CredentialsFunction"}},
		},
		{
			name:  "function URLs for every function through Globals",
			edits: []edit{{"Resources:\n  StateTable:", "Globals:\n  Function:\n    FunctionUrlConfig: {AuthType: AWS_IAM}\nResources:\n  StateTable:"}},
			want:  []finding{{RuleCredentialsAddressable, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction invokable by API Gateway",
			edits: []edit{{"  SourcesKey:\n", "  CredentialsInvoke:\n    Type: AWS::Lambda::Permission\n    Properties: {Action: lambda:InvokeFunction, FunctionName: !Ref CredentialsFunction, Principal: apigateway.amazonaws.com}\n  SourcesKey:\n"}},
			want:  []finding{{RuleCredentialsAddressable, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction invokable by everyone",
			edits: []edit{{"  SourcesKey:\n", "  CredentialsInvoke:\n    Type: AWS::Lambda::Permission\n    Properties: {Action: lambda:InvokeFunction, FunctionName: !GetAtt CredentialsFunction.Arn, Principal: \"*\"}\n  SourcesKey:\n"}},
			want:  []finding{{RuleCredentialsAddressable, "CredentialsFunction"}},
		},
		{
			name:  "CredentialsFunction invokable by a caller's role in another account",
			edits: []edit{{"  SourcesKey:\n", "  CredentialsInvoke:\n    Type: AWS::Lambda::Permission\n    Properties: {Action: lambda:InvokeFunction, FunctionName: !Ref CredentialsFunction, Principal: arn:aws:iam::210987654321:role/fetcher}\n  SourcesKey:\n"}},
			want:  nil,
		},

		// SourcesKey's own key policy (P4).
		{
			name:  "key policy: the account root holds kms:*",
			edits: []edit{{`Action: [kms:CreateAlias, "kms:Describe*", "kms:Put*", kms:ScheduleKeyDeletion]`, `Action: "kms:*"`}},
			// A grant, and every use given to every principal of the account.
			want: []finding{{RuleKeyPolicy, SourcesKey}, {RuleKeyPolicy, SourcesKey}},
		},
		{
			name:  "key policy: kms:Create* for administration includes kms:CreateGrant",
			edits: []edit{{`Action: [kms:CreateAlias, "kms:Describe*"`, `Action: ["kms:Create*", "kms:Describe*"`}},
			want:  []finding{{RuleKeyPolicy, SourcesKey}},
		},
		{
			name:  "key policy: the account root loses kms:PutKeyPolicy",
			edits: []edit{{`"kms:Put*", `, ""}},
			want:  []finding{{RuleKeyPolicy, SourcesKey}},
		},
		{
			name:  "key policy: another role decrypts",
			edits: []edit{{"Action: [kms:GenerateDataKey]\n", "Action: [kms:GenerateDataKey, kms:Decrypt]\n"}},
			want:  []finding{{RuleKeyPolicy, SourcesKey}},
		},
		{
			name: "key policy: another role validates key access only",
			edits: []edit{{"          - Sid: DenyDecrypt\n", `          - Sid: AlphaValidates
            Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: kms:Decrypt
            Resource: "*"
            Condition:
              ArnEquals: {aws:PrincipalArn: !GetAtt AlphaRole.Arn}
              StringEquals: {kms:ViaService: secretsmanager.eu-west-1.amazonaws.com, "kms:EncryptionContext:SecretVersionId": RequestToValidateKeyAccess}
          - Sid: DenyDecrypt
`}},
			want: nil,
		},
		{
			name:  "key policy: decryption for the whole account",
			edits: []edit{{"              ArnEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}\n", ""}},
			want:  []finding{{RuleKeyPolicy, SourcesKey}},
		},
		{
			name:  "key policy: decryption outside Secrets Manager",
			edits: []edit{{"              ArnEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}\n              StringEquals: {kms:ViaService: secretsmanager.eu-west-1.amazonaws.com}\n", "              ArnEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}\n"}},
			want:  []finding{{RuleKeyPolicy, SourcesKey}},
		},
		{
			name: "key policy: a service principal",
			edits: []edit{{"          - Sid: CredentialsDecrypt\n            Effect: Allow\n            Principal: {AWS: !Sub \"arn:${AWS::Partition}:iam::${AWS::AccountId}:root\"}\n",
				"          - Sid: CredentialsDecrypt\n            Effect: Allow\n            Principal: {Service: lambda.amazonaws.com}\n"}},
			want: []finding{{RuleKeyPolicy, SourcesKey}},
		},
		{
			name:  "key policy: no Deny of kms:Decrypt",
			edits: []edit{{"          - Sid: DenyDecrypt\n            Effect: Deny\n", "          - Sid: DenyDecrypt\n            Effect: Allow\n"}},
			// Now an Allow of Decrypt to everyone but the credentials role, and no Deny.
			want: []finding{{RuleKeyPolicy, SourcesKey}, {RuleKeyPolicy, SourcesKey}, {RuleKeyPolicy, SourcesKey}},
		},
		{
			name:  "key policy: the Deny spares another role",
			edits: []edit{{"ArnNotEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}", "ArnNotEquals: {aws:PrincipalArn: [!GetAtt CredentialsRole.Arn, !GetAtt AlphaRole.Arn]}"}},
			want:  []finding{{RuleKeyPolicy, SourcesKey}},
		},
		{
			name:  "key policy: the Deny narrowed by another condition",
			edits: []edit{{"ArnNotEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}\n", "ArnNotEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}\n              StringEquals: {kms:CallerAccount: \"111111111111\"}\n"}},
			want:  []finding{{RuleKeyPolicy, SourcesKey}},
		},
		{
			name:  "key policy: the Deny spares Secrets Manager's key-access validation",
			edits: []edit{{"ArnNotEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}\n", "ArnNotEquals: {aws:PrincipalArn: !GetAtt CredentialsRole.Arn}\n              StringNotEquals: {kms:EncryptionContext:SecretVersionId: RequestToValidateKeyAccess}\n"}},
			want:  nil,
		},
		{
			name:  "key policy: none (KMS's default gives the root kms:*)",
			edits: []edit{{"      KeyPolicy:\n        Statement:\n", "      Tags: []\n      NotTheKeyPolicy:\n        Statement:\n"}},
			want:  []finding{{RuleKeyPolicy, SourcesKey}},
		},

		// CreateSecret only under SourcesKey (P3).
		{
			name:  "CreateSecret without the key condition",
			edits: []edit{{"                Condition: {StringEquals: {secretsmanager:KmsKeyArn: !GetAtt SourcesKey.Arn}}\n", ""}},
			want:  []finding{{RuleCreateSecretKey, "AlphaFunction"}},
		},
		{
			name:  "CreateSecret under another key",
			edits: []edit{{"secretsmanager:KmsKeyArn: !GetAtt SourcesKey.Arn", "secretsmanager:KmsKeyArn: !GetAtt OtherKey.Arn"}},
			want:  []finding{{RuleCreateSecretKey, "AlphaFunction"}},
		},

		// Source secrets get their resource policy, and no secret a public one (P4).
		{
			name:  "a creator of source secrets that may not give them their policy",
			edits: []edit{{"Action: secretsmanager:PutResourcePolicy", "Action: secretsmanager:DescribeSecret"}},
			want:  []finding{{RuleSecretPolicy, "AlphaFunction"}},
		},
		{
			// Two findings: the statement, and the creator left without a statement that protects.
			name:  "PutResourcePolicy without BlockPublicPolicy",
			edits: []edit{{`                Condition: {Bool: {secretsmanager:BlockPublicPolicy: "true"}}` + "\n", ""}},
			want:  []finding{{RuleSecretPolicy, "AlphaFunction"}, {RuleSecretPolicy, "AlphaFunction"}},
		},
		{
			name:  "PutResourcePolicy with BlockPublicPolicy false",
			edits: []edit{{`secretsmanager:BlockPublicPolicy: "true"`, `secretsmanager:BlockPublicPolicy: "false"`}},
			want:  []finding{{RuleSecretPolicy, "AlphaFunction"}, {RuleSecretPolicy, "AlphaFunction"}},
		},
		{
			name:  "BlockPublicPolicy under another operator",
			edits: []edit{{`{Bool: {secretsmanager:BlockPublicPolicy: "true"}}`, `{StringEquals: {secretsmanager:BlockPublicPolicy: "true"}}`}},
			want:  []finding{{RuleSecretPolicy, "AlphaFunction"}, {RuleSecretPolicy, "AlphaFunction"}},
		},
		{
			name:  "BlockPublicPolicy as a YAML boolean, key in another case, beside another condition",
			edits: []edit{{`{Bool: {secretsmanager:BlockPublicPolicy: "true"}}`, `{Bool: {SecretsManager:blockPublicPolicy: true, aws:SecureTransport: true}}`}},
			want:  nil,
		},
		{
			// One secret named by !Ref may be written (RuleSecretWrites), but that is not where the
			// source secrets are.
			name:  "PutResourcePolicy on another secret only",
			edits: []edit{{"Action: secretsmanager:PutResourcePolicy\n                Resource: " + fixtureSourcesARN, "Action: secretsmanager:PutResourcePolicy\n                Resource: !Ref SmtpSecretArn"}},
			want:  []finding{{RuleSecretPolicy, "AlphaFunction"}},
		},
		{
			name:  "PutResourcePolicy through a wildcard action, without BlockPublicPolicy",
			edits: []edit{{"Action: [secretsmanager:PutSecretValue, secretsmanager:DeleteSecret, secretsmanager:TagResource]", `Action: [secretsmanager:PutSecretValue, secretsmanager:DeleteSecret, secretsmanager:TagResource, "secretsmanager:Put*"]`}},
			want:  []finding{{RuleSecretPolicy, "AlphaFunction"}, {RuleWildcardAction, "AlphaFunction"}},
		},

		// Other roles are denied source secrets explicitly (P4).
		{
			name:  "no Deny of source-secret reads",
			edits: []edit{{"                Effect: Deny\n                Action: [secretsmanager:GetSecretValue]\n", "                Effect: Deny\n                Action: [secretsmanager:DescribeSecret]\n"}},
			want:  []finding{{RuleSourceSecretsDeny, "AlphaFunction"}},
		},
		{
			name:  "Deny of source-secret reads only under a condition",
			edits: []edit{{"                Effect: Deny\n                Action: [secretsmanager:GetSecretValue]\n", "                Effect: Deny\n                Condition: {Bool: {aws:SecureTransport: \"false\"}}\n                Action: [secretsmanager:GetSecretValue]\n"}},
			want:  []finding{{RuleSourceSecretsDeny, "AlphaFunction"}},
		},
		{
			name: "Deny of source-secret reads in an attached managed policy",
			edits: []edit{
				{"                Effect: Deny\n                Action: [secretsmanager:GetSecretValue]\n", "                Effect: Deny\n                Action: [secretsmanager:DescribeSecret]\n"},
				{"  SourcesKey:\n", "  NoReads:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      Roles: [!Ref AlphaRole]\n      PolicyDocument:\n        Statement:\n          - {Effect: Deny, Action: secretsmanager:GetSecretValue, Resource: " + fixtureSourcesARN + "}\n  SourcesKey:\n"},
			},
			want: nil,
		},

		// The state table, by partition (dynamodb:LeadingKeys), and the email claims (P1).
		{
			name:  "state table without LeadingKeys",
			edits: []edit{{fixtureLeadingKeys, ""}},
			want:  []finding{{RuleLeadingKeys, "AlphaFunction"}, {RuleEmailClaims, "AlphaFunction"}},
		},
		{
			name:  "LeadingKeys under ForAnyValue",
			edits: []edit{{"ForAllValues:StringLike", "ForAnyValue:StringLike"}},
			want:  []finding{{RuleLeadingKeys, "AlphaFunction"}, {RuleEmailClaims, "AlphaFunction"}},
		},
		{
			name:  "LeadingKeys of every partition",
			edits: []edit{{`["ACCOUNT#*", "RATE#alpha#*"]`, `["ACCOUNT#*", "*"]`}},
			want:  []finding{{RuleLeadingKeys, "AlphaFunction"}, {RuleEmailClaims, "AlphaFunction"}},
		},
		{
			name:  "LeadingKeys without a kind",
			edits: []edit{{`["ACCOUNT#*", "RATE#alpha#*"]`, `["ACCOUNT#*", "RATE*"]`}},
			want:  []finding{{RuleLeadingKeys, "AlphaFunction"}},
		},
		{
			name:  "LeadingKeys reaching the email claims",
			edits: []edit{{`["ACCOUNT#*", "RATE#alpha#*"]`, `["ACCOUNT#*", "EMAIL#*"]`}},
			want:  []finding{{RuleEmailClaims, "AlphaFunction"}},
		},
		{
			name:  "LeadingKeys reaching the email claims through a wildcard",
			edits: []edit{{`["ACCOUNT#*", "RATE#alpha#*"]`, `["ACCOUNT#*", "?MAIL#*"]`}},
			want:  []finding{{RuleLeadingKeys, "AlphaFunction"}, {RuleEmailClaims, "AlphaFunction"}},
		},
		{
			name:  "LeadingKeys as exact partitions, key in another case",
			edits: []edit{{`{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ACCOUNT#*", "RATE#alpha#*"]}}`, `{"ForAllValues:StringEquals": {"DynamoDB:leadingKeys": ["INTENT#source-secret"]}}`}},
			want:  nil,
		},
		{
			name:  "Scan of the state table",
			edits: []edit{{"Action: [dynamodb:GetItem, dynamodb:Query]", "Action: [dynamodb:GetItem, dynamodb:Query, dynamodb:Scan]"}},
			want:  []finding{{RuleLeadingKeys, "AlphaFunction"}},
		},
		{
			name:  "the state table through a wildcard resource, without LeadingKeys",
			edits: []edit{{fixtureLeadingKeys, ""}, {`Resource: [!GetAtt StateTable.Arn, !Sub "${StateTable.Arn}/index/*"]`, `Resource: !Sub "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"`}},
			want:  []finding{{RuleLeadingKeys, "AlphaFunction"}, {RuleEmailClaims, "AlphaFunction"}, {RuleWildcardResource, "AlphaFunction"}},
		},

		// Packages and function types.
		{
			name:      "no main.go",
			noPackage: "alpha",
			want:      []finding{{RuleFunctionPackage, "AlphaFunction"}},
		},
		{
			name:  "plain Lambda function",
			edits: []edit{{"  SourcesKey:\n", "  Sneaky:\n    Type: AWS::Lambda::Function\n  SourcesKey:\n"}},
			want:  []finding{{RulePlainLambda, "Sneaky"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := cleanFixture
			for _, e := range tt.edits {
				src = replaceOnce(t, src, e.old, e.new)
			}
			tpl, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			var pkgs []string
			for _, n := range []string{"alpha", "credentials"} {
				if n != tt.noPackage {
					pkgs = append(pkgs, n)
				}
			}
			errs := CheckTemplate(tpl, fixtureRoot(t, pkgs...))
			if got := findings(t, errs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings = %v, want %v; errors:\n%v", got, tt.want, errors.Join(errs...))
			}
		})
	}
}

func TestRoleStatements(t *testing.T) {
	tpl, err := Parse([]byte(cleanFixture))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.RoleStatements()
	if err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(got)); !reflect.DeepEqual(keys, []string{"AlphaFunction", "CredentialsFunction"}) {
		t.Fatalf("functions = %v", keys)
	}
	alpha := got["AlphaFunction"]
	if len(alpha) != 8 {
		t.Fatalf("AlphaFunction has %d statements, want 8: %+v", len(alpha), alpha)
	}
	want := Statement{
		Sid:       "Smtp",
		Effect:    "Allow",
		Actions:   []string{"secretsmanager:GetSecretValue"},
		Resources: []any{map[string]any{"Ref": "SmtpSecretArn"}},
		Source:    "AlphaRole policy alpha",
	}
	if !reflect.DeepEqual(alpha[1], want) {
		t.Errorf("statement 1:\n got  %+v\n want %+v", alpha[1], want)
	}
	if r := alpha[0].Resources; len(r) != 2 || !reflect.DeepEqual(r[0], map[string]any{"Fn::GetAtt": []any{"StateTable", "Arn"}}) {
		t.Errorf("statement 0 resources = %#v", r)
	}
	if alpha[2].Effect != "Deny" {
		t.Errorf("statement 2 effect = %q", alpha[2].Effect)
	}
	if alpha[3].Condition != nil {
		t.Errorf("statement 3 condition = %#v, want nil", alpha[3].Condition)
	}
	wantCond := map[string]any{"StringEquals": map[string]any{"kms:ViaService": map[string]any{"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}}
	if !reflect.DeepEqual(alpha[4].Condition, wantCond) {
		t.Errorf("statement 4 condition = %#v, want %#v", alpha[4].Condition, wantCond)
	}
}

func TestRoleStatementsFunctionPolicies(t *testing.T) {
	src := replaceOnce(t, cleanFixture, "      Role: !GetAtt AlphaRole.Arn\n", `      Role: !GetAtt AlphaRole.Arn
      Policies:
        Statement:
          Effect: Allow
          Action: sqs:SendMessage
          Resource: arn:aws:sqs:eu-west-1:123456789012:q
`)
	tpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.RoleStatements()
	if err != nil {
		t.Fatal(err)
	}
	alpha := got["AlphaFunction"]
	last := alpha[len(alpha)-1]
	if len(alpha) != 9 || !reflect.DeepEqual(last.Actions, []string{"sqs:SendMessage"}) || last.Source != "AlphaFunction Policies[0]" {
		t.Errorf("statements = %+v", alpha)
	}
}

func TestRoleStatementsUnreadable(t *testing.T) {
	src := replaceOnce(t, cleanFixture, "Action: [kms:Decrypt]", "Action: !Ref SomeAction")
	tpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.RoleStatements()
	var p *Problem
	if !errors.As(err, &p) || p.Rule != RuleUnreadablePolicy || p.Resource != "CredentialsRole" {
		t.Fatalf("error = %v, want an unreadable-policy problem on CredentialsRole", err)
	}
	if n := len(got["CredentialsFunction"]); n != 1 {
		t.Errorf("CredentialsFunction kept %d readable statements, want 1", n)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "kms:decrypt", true},
		{"kms:*", "kms:decrypt", true},
		{"kms:de*", "kms:decrypt", true},
		{"kms:?ecrypt", "kms:decrypt", true},
		{"kms:*crypt", "kms:decrypt", true},
		{"kms:*crypt", "kms:encrypt", true},
		{"kms:encrypt", "kms:decrypt", false},
		{"*:get*value", "secretsmanager:getsecretvalue", true},
		{"secretsmanager:get", "secretsmanager:getsecretvalue", false},
		{"", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestMayMatchPrefix(t *testing.T) {
	tests := []struct {
		pattern string
		want    bool
	}{
		{"EMAIL#*", true},
		{"EMAIL#a@example.com", true},
		{"*", true},
		{"E*", true},
		{"?MAIL#*", true},
		{"*#*", true},
		{"EMAIL", false}, // a whole key "EMAIL", not a claim
		{"EMAIL#", true},
		{"EMAILS#*", false},
		{"ACCOUNT#*", false},
		{"*ACCOUNT", true}, // "EMAIL#ACCOUNT"
		{"RATE#*", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := mayMatchPrefix(tt.pattern, EmailClaimPrefix); got != tt.want {
			t.Errorf("mayMatchPrefix(%q, %q) = %v, want %v", tt.pattern, EmailClaimPrefix, got, tt.want)
		}
	}
}

func TestKnownPrefix(t *testing.T) {
	tests := []struct {
		pattern string
		want    bool
	}{
		{"ACCOUNT#*", true},
		{"INTENT#source-secret", true},
		{"RATE#dmca#*", true},
		{"*", false},
		{"RATE*", false},
		{"?ATE#*", false},
		{"#*", false},
		{"ACCOUNT", false},
	}
	for _, tt := range tests {
		if got := knownPrefix(tt.pattern); got != tt.want {
			t.Errorf("knownPrefix(%q) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

func TestPackageDir(t *testing.T) {
	tests := []struct {
		id, want string
		ok       bool
	}{
		{"AuthFunction", "functions/auth", true},
		{"LogSweepFunction", "functions/logsweep", true},
		{"Function", "", false},
		{"Auth", "", false},
	}
	for _, tt := range tests {
		got, ok := PackageDir(tt.id)
		if got != tt.want || ok != tt.ok {
			t.Errorf("PackageDir(%q) = %q, %v; want %q, %v", tt.id, got, ok, tt.want, tt.ok)
		}
	}
}

func TestProblemError(t *testing.T) {
	p := &Problem{Rule: RuleLogRetention, Resource: "AuthFunction", Detail: "too short"}
	if got := p.Error(); !strings.Contains(got, "AuthFunction") || !strings.Contains(got, "log-retention") {
		t.Errorf("Error() = %q", got)
	}
}
