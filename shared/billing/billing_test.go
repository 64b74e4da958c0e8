package billing

import (
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/stripe/stripe-go/v76"
)

func sub(id string, status stripe.SubscriptionStatus, price string, created int64) *stripe.Subscription {
	return &stripe.Subscription{ID: id, Status: status, Created: created, CurrentPeriodEnd: created + 100,
		Items: &stripe.SubscriptionItemList{Data: []*stripe.SubscriptionItem{{Price: &stripe.Price{ID: price}}}}}
}

func TestEvaluate(t *testing.T) {
	const p = "price_premium"
	for _, tc := range []struct {
		name       string
		subs       []*stripe.Subscription
		plan, sub  string
		status     string
		pastDue    bool
		periodEnds int64
	}{
		{"no subscription", nil, plans.Standard, "", StatusNone, false, 0},
		{"another price only", []*stripe.Subscription{sub("sub_a", "active", "price_other", 1)}, plans.Standard, "", StatusNone, false, 0},
		{"active", []*stripe.Subscription{sub("sub_a", "active", p, 1)}, plans.Premium, "sub_a", "active", false, 101},
		{"trialing", []*stripe.Subscription{sub("sub_a", "trialing", p, 1)}, plans.Premium, "sub_a", "trialing", false, 101},
		{"past due", []*stripe.Subscription{sub("sub_a", "past_due", p, 1)}, plans.Premium, "sub_a", "past_due", true, 101},
		{"unpaid", []*stripe.Subscription{sub("sub_a", "unpaid", p, 1)}, plans.Standard, "sub_a", "unpaid", false, 101},
		{"incomplete", []*stripe.Subscription{sub("sub_a", "incomplete", p, 1)}, plans.Standard, "sub_a", "incomplete", false, 101},
		{"canceled", []*stripe.Subscription{sub("sub_a", "canceled", p, 1)}, plans.Standard, "sub_a", "canceled", false, 101},
		{"paused", []*stripe.Subscription{sub("sub_a", "paused", p, 1)}, plans.Standard, "sub_a", "paused", false, 101},
		{"an old cancelled one and a new active one", []*stripe.Subscription{sub("sub_old", "canceled", p, 9), sub("sub_new", "active", p, 5)},
			plans.Premium, "sub_new", "active", false, 105},
		{"active wins over past due", []*stripe.Subscription{sub("sub_a", "past_due", p, 9), sub("sub_b", "active", p, 1)},
			plans.Premium, "sub_b", "active", false, 101},
		{"the newest of two cancelled", []*stripe.Subscription{sub("sub_a", "canceled", p, 1), sub("sub_b", "canceled", p, 2)},
			plans.Standard, "sub_b", "canceled", false, 102},
		{"same second: the id decides, in any order", []*stripe.Subscription{sub("sub_b", "canceled", p, 1), sub("sub_a", "canceled", p, 1)},
			plans.Standard, "sub_b", "canceled", false, 101},
		{"nil entries and items are skipped", []*stripe.Subscription{nil, {ID: "sub_x", Status: "active"}}, plans.Standard, "", StatusNone, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, subs := range [][]*stripe.Subscription{tc.subs, reversed(tc.subs)} {
				got := Evaluate(subs, p)
				if got.Plan != tc.plan || got.SubscriptionID != tc.sub || got.Status != tc.status || got.PastDue != tc.pastDue || got.CurrentPeriodEnd != tc.periodEnds {
					t.Errorf("got %+v", got)
				}
			}
		})
	}
}

func reversed(s []*stripe.Subscription) []*stripe.Subscription {
	r := make([]*stripe.Subscription, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}

func TestSecretCheck(t *testing.T) {
	good := "whsec_" + strings.Repeat("a", 32)
	for _, tc := range []struct {
		name    string
		s       Secret
		webhook bool
		ok      bool
	}{
		{"key only, for checkout", Secret{SecretKey: "sk_live_abc"}, false, true},
		{"restricted key", Secret{SecretKey: "rk_live_abc"}, false, true},
		{"publishable key", Secret{SecretKey: "pk_live_abc"}, false, false},
		{"empty", Secret{}, false, false},
		{"webhook: one secret", Secret{SecretKey: "sk_test_x", WebhookSecrets: []string{good}}, true, true},
		{"webhook: two secrets", Secret{SecretKey: "sk_test_x", WebhookSecrets: []string{good, good + "b"}}, true, true},
		{"webhook: none", Secret{SecretKey: "sk_test_x"}, true, false},
		{"webhook: three", Secret{SecretKey: "sk_test_x", WebhookSecrets: []string{good, good, good}}, true, false},
		{"webhook: not a signing secret", Secret{SecretKey: "sk_test_x", WebhookSecrets: []string{"sk_test_" + strings.Repeat("a", 32)}}, true, false},
		{"webhook: too short", Secret{SecretKey: "sk_test_x", WebhookSecrets: []string{"whsec_short"}}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Check(tc.webhook)
			if (err == nil) != tc.ok {
				t.Fatalf("Check: %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				for _, v := range append([]string{tc.s.SecretKey}, tc.s.WebhookSecrets...) {
					if v != "" && strings.Contains(err.Error(), v) {
						t.Errorf("the error repeats a secret: %v", err)
					}
				}
			}
		})
	}
}
