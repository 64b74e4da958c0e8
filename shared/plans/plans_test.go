package plans_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/plans"
)

// item is an account item as stored, standing in for identity's reads.
type item map[string]types.AttributeValue

func (i item) DecodeAccount(dst any) error { return attributevalue.UnmarshalMap(i, dst) }

func TestPlanAt(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		stored plans.Stored
		want   string
	}{
		{"no plan stored yet", plans.Stored{}, plans.Standard},
		{"standard", plans.Stored{Plan: plans.Standard}, plans.Standard},
		{"premium", plans.Stored{Plan: plans.Premium}, plans.Premium},
		{"premium in its grace period", plans.Stored{Plan: plans.Premium, PlanGraceUntil: now.Unix() + 1}, plans.Premium},
		{"premium at the end of its grace period", plans.Stored{Plan: plans.Premium, PlanGraceUntil: now.Unix()}, plans.Standard},
		{"premium after its grace period", plans.Stored{Plan: plans.Premium, PlanGraceUntil: now.Unix() - 3600}, plans.Standard},
		{"a stray deadline on standard", plans.Stored{Plan: plans.Standard, PlanGraceUntil: now.Unix() + 1}, plans.Standard},
	} {
		if got := tc.stored.PlanAt(now); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		av, err := attributevalue.MarshalMap(tc.stored)
		if err != nil {
			t.Fatal(err)
		}
		read, err := plans.Of(item(av))
		if err != nil {
			t.Fatal(err)
		}
		if v := identity.ViewAccount(&identity.Account{}, read.PlanAt(now)); v.Plan != tc.want {
			t.Errorf("%s: the view shows %s, want %s", tc.name, v.Plan, tc.want)
		}
	}
}

func TestInitialIsStandard(t *testing.T) {
	read, err := plans.Of(item(plans.Initial()))
	if err != nil {
		t.Fatal(err)
	}
	if read != (plans.Stored{Plan: plans.Standard}) {
		t.Errorf("a new account's plan reads %+v, want standard", read)
	}
}
