package cfn

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const tablesFixture = `
Resources:
  LogTable:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      TableName: !Sub ${AWS::StackName}-logs
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: expiry_bucket, AttributeType: S}
        - {AttributeName: expires_at, AttributeType: N}
        - {AttributeName: at, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: by-expiry
          KeySchema:
            - {AttributeName: expiry_bucket, KeyType: HASH}
            - {AttributeName: expires_at, KeyType: RANGE}
          Projection:
            ProjectionType: INCLUDE
            NonKeyAttributes: [account_id]
      LocalSecondaryIndexes:
        - IndexName: by-time
          KeySchema:
            - {AttributeName: pk, KeyType: HASH}
            - {AttributeName: at, KeyType: RANGE}
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification:
        AttributeName: expires_at
        Enabled: true
      StreamSpecification:
        StreamViewType: KEYS_ONLY
      SSESpecification: {SSEEnabled: true}
  Counters:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions:
        - {AttributeName: id, AttributeType: S}
        - {AttributeName: g, AttributeType: N}
      KeySchema:
        - {AttributeName: id, KeyType: HASH}
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: "2"}
      GlobalSecondaryIndexes:
        - IndexName: by-g
          KeySchema: [{AttributeName: g, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
          ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
      TimeToLiveSpecification: {AttributeName: gone, Enabled: false}
  NotATable:
    Type: AWS::Logs::LogGroup
`

func TestTables(t *testing.T) {
	tpl, err := Parse([]byte(tablesFixture))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := tpl.Tables(func(id string) string { return "test-" + strings.ToLower(id) })
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 2 || tables[0].LogicalID != "Counters" || tables[1].LogicalID != "LogTable" {
		t.Fatalf("tables = %+v, want Counters and LogTable in that order", tables)
	}

	counters := tables[0]
	wantCounters := &dynamodb.CreateTableInput{
		TableName: aws.String("test-counters"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("g"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema:             []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:           types.BillingModeProvisioned,
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(2)},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:             aws.String("by-g"),
			KeySchema:             []types.KeySchemaElement{{AttributeName: aws.String("g"), KeyType: types.KeyTypeHash}},
			Projection:            &types.Projection{ProjectionType: types.ProjectionTypeAll},
			ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)},
		}},
	}
	if !reflect.DeepEqual(counters.Input, wantCounters) {
		t.Errorf("Counters input:\n got  %+v\n want %+v", counters.Input, wantCounters)
	}
	if counters.TTLAttribute != "" {
		t.Errorf("Counters TTL = %q, want none (disabled)", counters.TTLAttribute)
	}

	logs := tables[1]
	wantLogs := &dynamodb.CreateTableInput{
		TableName: aws.String("test-logtable"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("expiry_bucket"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("expires_at"), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String("at"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String("by-expiry"),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("expiry_bucket"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("expires_at"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"account_id"}},
		}},
		LocalSecondaryIndexes: []types.LocalSecondaryIndex{{
			IndexName: aws.String("by-time"),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("at"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeKeysOnly},
	}
	if !reflect.DeepEqual(logs.Input, wantLogs) {
		t.Errorf("LogTable input:\n got  %+v\n want %+v", logs.Input, wantLogs)
	}
	if logs.TTLAttribute != "expires_at" {
		t.Errorf("LogTable TTL = %q, want expires_at", logs.TTLAttribute)
	}
}

func TestTablesDefaultName(t *testing.T) {
	tpl, err := Parse([]byte(tablesFixture))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := tpl.Tables(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(tables[0].Input.TableName); got != "Counters" {
		t.Errorf("TableName = %q, want the logical id", got)
	}
}

func TestTablesErrors(t *testing.T) {
	const base = `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
`
	tests := []struct {
		name, old, new, want string
	}{
		{"undefined key", "KeySchema: [{AttributeName: pk", "KeySchema: [{AttributeName: id", "not in AttributeDefinitions"},
		{"unused definition", "AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]",
			"AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: x, AttributeType: S}]", "not used by any key"},
		{"intrinsic billing mode", "BillingMode: PAY_PER_REQUEST", "BillingMode: !If [C, PAY_PER_REQUEST, PROVISIONED]", "BillingMode"},
		{"provisioned without throughput", "BillingMode: PAY_PER_REQUEST", "BillingMode: PROVISIONED", "ProvisionedThroughput"},
		{"range first", "KeyType: HASH", "KeyType: RANGE", "KeyType"},
		{"bad attribute type", "AttributeType: S", "AttributeType: X", "AttributeType"},
		{"ttl without name", "BillingMode: PAY_PER_REQUEST", "BillingMode: PAY_PER_REQUEST\n      TimeToLiveSpecification: {Enabled: true}", "AttributeName"},
		{"index without projection", "BillingMode: PAY_PER_REQUEST",
			"BillingMode: PAY_PER_REQUEST\n      GlobalSecondaryIndexes: [{IndexName: i, KeySchema: [{AttributeName: pk, KeyType: HASH}]}]", "Projection"},
		{"include without attributes", "BillingMode: PAY_PER_REQUEST",
			"BillingMode: PAY_PER_REQUEST\n      GlobalSecondaryIndexes: [{IndexName: i, KeySchema: [{AttributeName: pk, KeyType: HASH}], Projection: {ProjectionType: INCLUDE}}]", "NonKeyAttributes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := replaceOnce(t, base, tt.old, tt.new)
			tpl, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = tpl.Tables(nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Tables() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// replaceOnce replaces old, which must occur exactly once in s.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("fixture holds %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}
