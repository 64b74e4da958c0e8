package cfn

import (
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Table is one AWS::DynamoDB::Table of the template, as the CreateTable call that makes it.
type Table struct {
	LogicalID string
	Input     *dynamodb.CreateTableInput
	// TTLAttribute is the enabled TimeToLiveSpecification's attribute, "" when TTL is off.
	// CreateTable cannot set it: call UpdateTimeToLive after the table is active.
	TTLAttribute string
}

// Tables turns every AWS::DynamoDB::Table into the CreateTableInput that creates it: key schema,
// attribute definitions, billing mode (and provisioned throughput), global and local secondary
// indexes with their projections, and the stream specification; the TTL attribute is returned
// alongside. Each table is named name(logicalID); a nil name uses the logical id.
// Encryption, point-in-time recovery and tags are deployment settings and are left out.
// Every value must be literal: a table whose shape depends on an intrinsic is an error.
func (t *Template) Tables(name func(logicalID string) string) ([]Table, error) {
	if name == nil {
		name = func(id string) string { return id }
	}
	var out []Table
	for _, id := range t.ofType(TypeDynamoDBTable) {
		tbl, err := table(id, t.Resources[id].Properties, name(id))
		if err != nil {
			return nil, fmt.Errorf("cfn: table %s: %w", id, err)
		}
		out = append(out, tbl)
	}
	return out, nil
}

func table(id string, p map[string]any, tableName string) (Table, error) {
	in := &dynamodb.CreateTableInput{TableName: aws.String(tableName)}

	defs, err := attributeDefinitions(p["AttributeDefinitions"])
	if err != nil {
		return Table{}, err
	}
	in.AttributeDefinitions = defs

	if in.KeySchema, err = keySchema(p["KeySchema"]); err != nil {
		return Table{}, fmt.Errorf("KeySchema: %w", err)
	}

	mode := "PROVISIONED" // CloudFormation's default
	if v, ok := p["BillingMode"]; ok {
		if mode, ok = literalString(v); !ok {
			return Table{}, fmt.Errorf("BillingMode is not a literal string")
		}
	}
	switch mode {
	case "PAY_PER_REQUEST":
		in.BillingMode = types.BillingModePayPerRequest
	case "PROVISIONED":
		in.BillingMode = types.BillingModeProvisioned
		if in.ProvisionedThroughput, err = throughput(p["ProvisionedThroughput"]); err != nil {
			return Table{}, fmt.Errorf("ProvisionedThroughput: %w", err)
		}
	default:
		return Table{}, fmt.Errorf("unknown BillingMode %q", mode)
	}

	seen := map[string]bool{}
	for i, g := range list(p["GlobalSecondaryIndexes"]) {
		gm, ok := g.(map[string]any)
		if !ok {
			return Table{}, fmt.Errorf("GlobalSecondaryIndexes[%d] is not a mapping", i)
		}
		idx := types.GlobalSecondaryIndex{}
		if idx.IndexName, idx.KeySchema, idx.Projection, err = index(gm, seen); err != nil {
			return Table{}, fmt.Errorf("GlobalSecondaryIndexes[%d]: %w", i, err)
		}
		if in.BillingMode == types.BillingModeProvisioned {
			if idx.ProvisionedThroughput, err = throughput(gm["ProvisionedThroughput"]); err != nil {
				return Table{}, fmt.Errorf("GlobalSecondaryIndexes[%d]: ProvisionedThroughput: %w", i, err)
			}
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, idx)
	}
	for i, l := range list(p["LocalSecondaryIndexes"]) {
		lm, ok := l.(map[string]any)
		if !ok {
			return Table{}, fmt.Errorf("LocalSecondaryIndexes[%d] is not a mapping", i)
		}
		idx := types.LocalSecondaryIndex{}
		if idx.IndexName, idx.KeySchema, idx.Projection, err = index(lm, seen); err != nil {
			return Table{}, fmt.Errorf("LocalSecondaryIndexes[%d]: %w", i, err)
		}
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, idx)
	}

	if err := keysDefined(in); err != nil {
		return Table{}, err
	}

	if v, ok := p["StreamSpecification"]; ok {
		sm, ok := v.(map[string]any)
		view, ok2 := literalString(sm["StreamViewType"])
		if !ok || !ok2 {
			return Table{}, fmt.Errorf("StreamSpecification needs a literal StreamViewType")
		}
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(view),
		}
	}

	tbl := Table{LogicalID: id, Input: in}
	if v, ok := p["TimeToLiveSpecification"]; ok {
		tm, ok := v.(map[string]any)
		if !ok {
			return Table{}, fmt.Errorf("TimeToLiveSpecification is not a mapping")
		}
		enabled, ok := literalBool(tm["Enabled"])
		if !ok {
			return Table{}, fmt.Errorf("TimeToLiveSpecification.Enabled is not a literal boolean")
		}
		if enabled {
			attr, ok := literalString(tm["AttributeName"])
			if !ok || attr == "" {
				return Table{}, fmt.Errorf("TimeToLiveSpecification.AttributeName is not a literal string")
			}
			tbl.TTLAttribute = attr
		}
	}
	return tbl, nil
}

func attributeDefinitions(v any) ([]types.AttributeDefinition, error) {
	var out []types.AttributeDefinition
	seen := map[string]bool{}
	for i, d := range list(v) {
		dm, ok := d.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("AttributeDefinitions[%d] is not a mapping", i)
		}
		n, ok1 := literalString(dm["AttributeName"])
		typ, ok2 := literalString(dm["AttributeType"])
		if !ok1 || !ok2 || n == "" {
			return nil, fmt.Errorf("AttributeDefinitions[%d] needs a literal AttributeName and AttributeType", i)
		}
		switch typ {
		case "S", "N", "B":
		default:
			return nil, fmt.Errorf("AttributeDefinitions[%d]: AttributeType %q is not S, N or B", i, typ)
		}
		if seen[n] {
			return nil, fmt.Errorf("attribute %q is defined twice", n)
		}
		seen[n] = true
		out = append(out, types.AttributeDefinition{
			AttributeName: aws.String(n),
			AttributeType: types.ScalarAttributeType(typ),
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no AttributeDefinitions")
	}
	return out, nil
}

func keySchema(v any) ([]types.KeySchemaElement, error) {
	var out []types.KeySchemaElement
	for i, k := range list(v) {
		km, ok := k.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("element %d is not a mapping", i)
		}
		n, ok1 := literalString(km["AttributeName"])
		kt, ok2 := literalString(km["KeyType"])
		if !ok1 || !ok2 || n == "" {
			return nil, fmt.Errorf("element %d needs a literal AttributeName and KeyType", i)
		}
		switch {
		case kt == "HASH" && i == 0, kt == "RANGE" && i == 1:
		default:
			return nil, fmt.Errorf("element %d: KeyType %q (want HASH first, then optionally RANGE)", i, kt)
		}
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(n), KeyType: types.KeyType(kt)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty")
	}
	return out, nil
}

func index(m map[string]any, seen map[string]bool) (*string, []types.KeySchemaElement, *types.Projection, error) {
	n, ok := literalString(m["IndexName"])
	if !ok || n == "" {
		return nil, nil, nil, fmt.Errorf("IndexName is not a literal string")
	}
	if seen[n] {
		return nil, nil, nil, fmt.Errorf("index %q is defined twice", n)
	}
	seen[n] = true
	ks, err := keySchema(m["KeySchema"])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("index %s: KeySchema: %w", n, err)
	}
	pm, ok := m["Projection"].(map[string]any)
	if !ok {
		return nil, nil, nil, fmt.Errorf("index %s has no Projection", n)
	}
	proj := &types.Projection{}
	// Required here although CloudFormation lets it be omitted: the projection decides what a
	// query through the index returns, so the template says it.
	pt, ok := literalString(pm["ProjectionType"])
	if !ok {
		return nil, nil, nil, fmt.Errorf("index %s: Projection.ProjectionType is not a literal string", n)
	}
	switch pt {
	case "ALL", "KEYS_ONLY", "INCLUDE":
		proj.ProjectionType = types.ProjectionType(pt)
	default:
		return nil, nil, nil, fmt.Errorf("index %s: unknown ProjectionType %q", n, pt)
	}
	for _, a := range list(pm["NonKeyAttributes"]) {
		s, ok := literalString(a)
		if !ok {
			return nil, nil, nil, fmt.Errorf("index %s: NonKeyAttributes holds a non-literal", n)
		}
		proj.NonKeyAttributes = append(proj.NonKeyAttributes, s)
	}
	if (pt == "INCLUDE") != (len(proj.NonKeyAttributes) > 0) {
		return nil, nil, nil, fmt.Errorf("index %s: NonKeyAttributes go with ProjectionType INCLUDE, and only with it", n)
	}
	return aws.String(n), ks, proj, nil
}

func throughput(v any) (*types.ProvisionedThroughput, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("missing (BillingMode PROVISIONED needs it)")
	}
	r, ok1 := literalInt(m["ReadCapacityUnits"])
	w, ok2 := literalInt(m["WriteCapacityUnits"])
	if !ok1 || !ok2 || r < 1 || w < 1 {
		return nil, fmt.Errorf("needs literal ReadCapacityUnits and WriteCapacityUnits of at least 1")
	}
	return &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(r), WriteCapacityUnits: aws.Int64(w)}, nil
}

// keysDefined checks what DynamoDB checks: every key attribute of the table and its indexes is
// defined, and every defined attribute is some key.
func keysDefined(in *dynamodb.CreateTableInput) error {
	used := map[string]bool{}
	var keys []types.KeySchemaElement
	keys = append(keys, in.KeySchema...)
	for _, g := range in.GlobalSecondaryIndexes {
		keys = append(keys, g.KeySchema...)
	}
	for _, l := range in.LocalSecondaryIndexes {
		keys = append(keys, l.KeySchema...)
	}
	defined := map[string]bool{}
	for _, d := range in.AttributeDefinitions {
		defined[aws.ToString(d.AttributeName)] = true
	}
	for _, k := range keys {
		n := aws.ToString(k.AttributeName)
		if !defined[n] {
			return fmt.Errorf("key attribute %q is not in AttributeDefinitions", n)
		}
		used[n] = true
	}
	var unused []string
	for n := range defined {
		if !used[n] {
			unused = append(unused, n)
		}
	}
	if len(unused) > 0 {
		slices.Sort(unused)
		return fmt.Errorf("AttributeDefinitions %v are not used by any key", unused)
	}
	for _, l := range in.LocalSecondaryIndexes {
		if aws.ToString(l.KeySchema[0].AttributeName) != aws.ToString(in.KeySchema[0].AttributeName) || len(l.KeySchema) != 2 {
			return fmt.Errorf("local index %s must share the table's partition key and have a sort key", aws.ToString(l.IndexName))
		}
	}
	return nil
}
