package stack

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/cfn"
)

// TableName names a template table under a prefix the way template.yaml
// names it under the stack name: StateTable → "<prefix>-state".
func TableName(prefix, logicalID string) string {
	return prefix + "-" + strings.ToLower(strings.TrimSuffix(logicalID, "Table"))
}

// LocalPrefix names the tables and secrets of `make run`'s stack.
const LocalPrefix = "atrium-local"

// LocalTableName is the name of a template table in `make run`'s stack.
func LocalTableName(logicalID string) string { return TableName(LocalPrefix, logicalID) }

// CreateTables creates every table template.yaml defines (if missing), named
// with TableName(prefix, …), with TTL and the stream enabled as the template
// says (a table kept from an earlier run gets the stream it lacks). It
// returns the names by logical id.
func CreateTables(ctx context.Context, db *dynamodb.Client, repoRoot, prefix string) (map[string]string, error) {
	tmpl, err := cfn.Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		return nil, err
	}
	tables, err := tmpl.Tables(func(id string) string { return TableName(prefix, id) })
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, t := range tables {
		names[t.LogicalID] = aws.ToString(t.Input.TableName)
		_, err := db.CreateTable(ctx, t.Input)
		var inUse *types.ResourceInUseException
		switch {
		case errors.As(err, &inUse):
			// Kept from an earlier run, perhaps from before the template
			// declared its stream.
			if err := enableStream(ctx, db, t.Input); err != nil {
				return nil, err
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("create table %s: %w", aws.ToString(t.Input.TableName), err)
		}
		if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: t.Input.TableName}, time.Minute); err != nil {
			return nil, fmt.Errorf("wait for table %s: %w", aws.ToString(t.Input.TableName), err)
		}
		if t.TTLAttribute != "" {
			if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
				TableName:               t.Input.TableName,
				TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
			}); err != nil {
				return nil, fmt.Errorf("enable TTL on %s: %w", aws.ToString(t.Input.TableName), err)
			}
		}
	}
	return names, nil
}

// enableStream turns on the stream the template declares for an existing
// table that has none (or another view of it), as CloudFormation would on
// an update.
func enableStream(ctx context.Context, db *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	want := in.StreamSpecification
	if want == nil {
		return nil
	}
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", aws.ToString(in.TableName), err)
	}
	have := d.Table.StreamSpecification
	if have != nil && aws.ToBool(have.StreamEnabled) && have.StreamViewType == want.StreamViewType {
		return nil
	}
	if have != nil && aws.ToBool(have.StreamEnabled) {
		// A stream's view cannot change: turn it off first.
		if _, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: in.TableName,
			StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(false)}}); err != nil {
			return fmt.Errorf("disable the stream of %s: %w", aws.ToString(in.TableName), err)
		}
	}
	if _, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: in.TableName, StreamSpecification: want}); err != nil {
		return fmt.Errorf("enable the stream of %s: %w", aws.ToString(in.TableName), err)
	}
	return nil
}
