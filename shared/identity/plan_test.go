package identity

import (
	"testing"
	"time"
)

func TestPlanAt(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		acct Account
		want string
	}{
		{"no plan stored yet", Account{}, PlanStandard},
		{"standard", Account{Plan: PlanStandard}, PlanStandard},
		{"premium", Account{Plan: PlanPremium}, PlanPremium},
		{"premium in its grace period", Account{Plan: PlanPremium, PlanGraceUntil: now.Unix() + 1}, PlanPremium},
		{"premium at the end of its grace period", Account{Plan: PlanPremium, PlanGraceUntil: now.Unix()}, PlanStandard},
		{"premium after its grace period", Account{Plan: PlanPremium, PlanGraceUntil: now.Unix() - 3600}, PlanStandard},
		{"a stray deadline on standard", Account{Plan: PlanStandard, PlanGraceUntil: now.Unix() + 1}, PlanStandard},
	} {
		if got := tc.acct.PlanAt(now); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		if v := ViewAccount(&tc.acct, now); v.Plan != tc.want {
			t.Errorf("%s: the view shows %s, want %s", tc.name, v.Plan, tc.want)
		}
	}
}
