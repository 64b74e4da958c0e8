package gateway_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/registry"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// lifecycleTables are the package stack's tables, by lifecycle table.
var lifecycleTables = []struct {
	table   lifecycle.Table
	logical string
}{
	{lifecycle.StateTable, "StateTable"},
	{lifecycle.RequestLogTable, "RequestLogTable"},
}

// scanKeys reads the key of every item of a table (expired ones included:
// they are still held until TTL removes them).
func scanKeys(ctx context.Context, db *dynamodb.Client, table string) ([]lifecycle.Key, error) {
	var keys []lifecycle.Key
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("pk, sk")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, item := range page.Items {
			pk, _ := item[statetable.PK].(*types.AttributeValueMemberS)
			sk, _ := item[statetable.SK].(*types.AttributeValueMemberS)
			if pk == nil || sk == nil {
				return nil, fmt.Errorf("scan %s: an item without a string pk and sk", table)
			}
			keys = append(keys, lifecycle.Key{PK: pk.Value, SK: sk.Value})
		}
	}
	return keys, nil
}

// census scans both tables of the package's stack and classifies every
// item by its registered lifecycle kind.
func census(ctx context.Context) ([]lifecycle.Census, *lifecycle.Registry, error) {
	reg, err := registry.All()
	if err != nil {
		return nil, nil, err
	}
	db := stack.DynamoDBClient(theStack.DynamoDBEndpoint)
	var out []lifecycle.Census
	for _, t := range lifecycleTables {
		keys, err := scanKeys(ctx, db, theStack.Tables[t.logical])
		if err != nil {
			return nil, nil, err
		}
		out = append(out, reg.Count(t.table, keys))
	}
	return out, reg, nil
}

// minKindsSeen is how many kinds the suite's flows must leave in the
// tables for the check to prove anything (they leave about twenty).
const minKindsSeen = 12

// checkLifecycleKinds fails the run if any item the suite's flows left in
// either table is of no registered lifecycle kind, or of more than one
// (issue #14: the kinds are found from what the code writes, not from a
// list kept by hand). It prints the count of each kind.
func checkLifecycleKinds() int {
	cs, reg, err := census(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: lifecycle census: %v\n", err)
		return 1
	}
	bad, seen := 0, 0
	for _, c := range cs {
		for _, p := range c.Problems(reg) {
			fmt.Fprintf(os.Stderr, "FAIL: %s\n", p)
			bad++
		}
		seen += len(c.Counts)
		fmt.Printf("lifecycle census, %s table: %s\n", c.Table, c)
	}
	if wholeSuite() && seen < minKindsSeen {
		fmt.Fprintf(os.Stderr, "FAIL: only %d lifecycle kinds in the tables; the check proves nothing\n", seen)
		return 1
	}
	if bad > 0 {
		return 1
	}
	fmt.Printf("lifecycle check: every item of both tables is of exactly one registered kind (%d kinds seen of %d)\n",
		seen, len(reg.Kinds()))
	return 0
}

// TestLifecycleCensusFlagsAnUnregisteredKind: an item of a kind no package
// registers, written to the state table, is named by the census the end of
// the package runs (then removed, so that check still passes).
func TestLifecycleCensusFlagsAnUnregisteredKind(t *testing.T) {
	api(t)
	db := stack.DynamoDBClient(theStack.DynamoDBEndpoint)
	key := statetable.Key{PK: "ZZTHROWAWAY#" + ids.New("zz"), SK: "ZZTHROWAWAY"}
	table := theStack.Tables["StateTable"]
	if _, err := db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: key.AV()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key.AV()}); err != nil {
			t.Errorf("remove the throwaway item: %v", err)
		}
	})
	cs, reg, err := census(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, c := range cs {
		for _, p := range c.Problems(reg) {
			if strings.Contains(p, `pk "ZZTHROWAWAY#zz_`) {
				flagged++
			}
		}
	}
	if flagged != 1 {
		t.Fatalf("the throwaway item was flagged %d times, want once: %v", flagged, cs)
	}
}
