package passkeys_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/passkeys/ceremony"
	"github.com/atrium-cdn/atrium/shared/passkeys/passkeystest"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// TestEraseAndExport: an account's passkeys, its pending challenges, its
// user handle and the handle's index are shown by the export (never a
// public key) and erased by the deletion's passkeys step, which is
// idempotent; another account's passkeys stay.
func TestEraseAndExport(t *testing.T) {
	st := testenv.NewStack(t)
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	table := st.Tables["StateTable"]
	ids := identity.NewStore(db, table, nil)
	svc, err := ceremony.New(db, table, nil, ceremony.Config{RPID: stack.LocalPasskeyRPID, Origins: []string{stack.LocalAppOrigin()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := passkeystest.New(stack.LocalAppOrigin())
	register := func(acct, name string) {
		opts, err := svc.BeginRegistration(ctx, ceremony.Account{ID: acct, Email: "x@example.com"}, "sess_x")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := jsonOf(opts)
		cred, _, err := a.Create(raw, passkeystest.FlagBE, passkeystest.Tamper{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.FinishRegistration(ctx, ceremony.Account{ID: acct, Email: "x@example.com"}, "sess_x", name, cred); err != nil {
			t.Fatal(err)
		}
	}
	mine, theirs := testenv.ActiveAccount(t, ids, time.Now()), testenv.ActiveAccount(t, ids, time.Now())
	register(mine, "one")
	register(mine, "two")
	register(theirs, "theirs")
	if _, err := svc.BeginFactor(ctx, mine); err != nil { // a pending challenge in the partition
		t.Fatal(err)
	}

	ex, err := passkeys.Exporter(svc.Store).Export(ctx, lifecycle.Subject{AccountID: mine})
	if err != nil {
		t.Fatal(err)
	}
	doc := ex.(passkeys.Export)
	if doc.UserHandle == "" || len(doc.Passkeys) != 2 || doc.Passkeys[0].Name != "one" || !doc.Passkeys[0].BackupEligible {
		t.Fatalf("export %+v", doc)
	}
	if raw, _ := jsonOf(doc); containsAny(string(raw), "public_key", "credential_id", "sign_count\"") {
		t.Fatalf("the export holds a key or id: %s", raw)
	}

	indexes := func() int { // the credential id index items naming mine
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table),
			FilterExpression:          aws.String("begins_with(pk, :p) AND account_id = :a"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "PASSKEYCRED#"}, ":a": &types.AttributeValueMemberS{Value: mine}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Items)
	}
	if n := indexes(); n != 2 {
		t.Fatalf("credential id index items before erasure: %d, want 2", n)
	}

	counted := map[string]int{}
	count := func(c string, n int) error { counted[c] += n; return nil }
	for range 2 { // a resumed step finds nothing more
		if err := passkeys.Eraser(svc.Store).Erase(ctx, lifecycle.Subject{AccountID: mine}, count); err != nil {
			t.Fatal(err)
		}
	}
	if counted["passkeys"] != 2 {
		t.Fatalf("counted %v, want 2 passkeys", counted)
	}
	left := 0
	if err := statetable.EachInPartition(ctx, db, table, identity.AccountPartition(mine), "PASSKEY", nil,
		func(map[string]types.AttributeValue) error { left++; return nil }); err != nil {
		t.Fatal(err)
	}
	var idx struct{}
	found, err := svc.Get(ctx, passkeys.HandleKey(doc.UserHandle), &idx)
	if err != nil || found || left != 0 {
		t.Fatalf("after erasure: %d passkey items left, handle index found %v (%v)", left, found, err)
	}
	if n := indexes(); n != 0 {
		t.Fatalf("credential id index items after erasure: %d", n)
	}
	if has, _ := svc.Has(ctx, mine); has {
		t.Fatal("the erased account still has passkeys")
	}
	if list, _ := svc.List(ctx, theirs); len(list) != 1 {
		t.Fatalf("the other account's passkeys: %+v", list)
	}
}
