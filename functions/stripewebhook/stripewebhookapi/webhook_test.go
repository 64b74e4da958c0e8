package stripewebhookapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stripe/stripe-go/v76"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
	"github.com/atrium-cdn/atrium/shared/plans"
)

func TestEachHandledTypeWritesTheCustomersCurrentState(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		typ        string
		status     stripe.SubscriptionStatus // "" for no subscription
		price      string
		deleteCus  bool
		wantPlan   string
		wantStatus string
		wantGrace  bool
	}{
		{"checkout.session.completed", stripe.SubscriptionStatusActive, premiumPrice, false, plans.Premium, "active", false},
		{"customer.subscription.created", stripe.SubscriptionStatusTrialing, premiumPrice, false, plans.Premium, "trialing", false},
		{"customer.subscription.created", stripe.SubscriptionStatusIncomplete, premiumPrice, false, plans.Standard, "incomplete", false},
		{"customer.subscription.updated", stripe.SubscriptionStatusPastDue, premiumPrice, false, plans.Premium, "past_due", true},
		{"customer.subscription.updated", stripe.SubscriptionStatusUnpaid, premiumPrice, false, plans.Standard, "unpaid", false},
		{"customer.subscription.updated", stripe.SubscriptionStatusActive, otherPrice, false, plans.Standard, "none", false},
		{"customer.subscription.deleted", stripe.SubscriptionStatusCanceled, premiumPrice, false, plans.Standard, "canceled", false},
		{"invoice.paid", stripe.SubscriptionStatusActive, premiumPrice, false, plans.Premium, "active", false},
		{"invoice.payment_failed", stripe.SubscriptionStatusPastDue, premiumPrice, false, plans.Premium, "past_due", true},
		{"customer.deleted", stripe.SubscriptionStatusCanceled, premiumPrice, true, plans.Standard, "", false},
	} {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.typ, tc.status, tc.price), func(t *testing.T) {
			acct, cus, sub := f.subscriber(t, tc.status, tc.price)
			if tc.deleteCus {
				// It was premium before the customer was deleted.
				if w := f.send(newEventID(), "invoice.paid", cus, sub); outcome(t, w) != "applied" {
					t.Fatalf("setup: %d %s", w.Code, w.Body)
				}
				f.backend.DeleteCustomer(cus)
			}
			w := f.send(newEventID(), tc.typ, cus, sub)
			want := "applied"
			if tc.deleteCus {
				want = "customer_deleted"
			}
			if w.Code != http.StatusOK || outcome(t, w) != want {
				t.Fatalf("got %d %s, want 200 %s", w.Code, w.Body, want)
			}
			r := f.record(t, acct)
			if got := r.PlanAt(f.clock.Now()); got != tc.wantPlan || r.Status != tc.wantStatus {
				t.Errorf("plan %s, status %q; want %s, %q", got, r.Status, tc.wantPlan, tc.wantStatus)
			}
			if (r.PlanGraceUntil != 0) != tc.wantGrace {
				t.Errorf("grace until %d, want set=%v", r.PlanGraceUntil, tc.wantGrace)
			}
			if tc.deleteCus {
				if r.StripeCustomerID != "" {
					t.Errorf("the deleted customer %s is still linked", r.StripeCustomerID)
				}
				if a, _ := f.store.AccountOf(context.Background(), cus); a != "" {
					t.Errorf("the deleted customer still leads to account %s", a)
				}
			}
		})
	}
}

func TestSignaturesAreCheckedBeforeAnything(t *testing.T) {
	f := newFixture(t)
	acct, cus, sub := f.subscriber(t, stripe.SubscriptionStatusActive, premiumPrice)
	body := eventBody(newEventID(), "invoice.paid", cus, sub)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		body   []byte
		header string
		code   string
	}{
		{"unsigned", body, "", "signature_missing"},
		{"forged: another secret", body, sign(body, "whsec_someone_elses_secret_000000", now), "signature_invalid"},
		{"body changed after signing", append([]byte(" "), body...), sign(body, secretA, now), "signature_invalid"},
		{"stale: 6 minutes old", body, sign(body, secretA, now.Add(-6*time.Minute)), "signature_stale"},
		// Pre-dated: it would stay replayable ten minutes past the tolerance.
		{"from the future: 10 minutes ahead", body, sign(body, secretA, now.Add(10*time.Minute)), "signature_stale"},
		{"from the future, second secret", body, sign(body, secretB, now.Add(10*time.Minute)), "signature_stale"},
		{"no v1 signature", body, fmt.Sprintf("t=%d,v0=abcd", now.Unix()), "signature_invalid"},
		{"garbage header", body, "not a signature", "signature_invalid"},
		{"header too long", body, sign(body, secretA, now) + strings.Repeat(",v1=00", 1000), "signature_invalid"},
		{"signed, not JSON", []byte("not json"), sign([]byte("not json"), secretA, now), "invalid_event"},
		{"signed, no event id", []byte(`{"type":"invoice.paid","data":{"object":{"customer":"cus_1"}}}`),
			sign([]byte(`{"type":"invoice.paid","data":{"object":{"customer":"cus_1"}}}`), secretA, now), "invalid_event"},
		{"signed, no customer", []byte(`{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":"in_1"}}}`),
			sign([]byte(`{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":"in_1"}}}`), secretA, now), "invalid_event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.deliver(tc.body, tc.header)
			if w.Code != http.StatusBadRequest || outcome(t, w) != tc.code {
				t.Fatalf("got %d %s, want 400 %s", w.Code, w.Body, tc.code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
	if n := f.backend.Calls("GET /v1/subscriptions") + f.backend.Calls("GET /v1/customers/{id}"); n != 0 {
		t.Errorf("refused deliveries made %d calls to Stripe", n)
	}
	if n := f.eventRecords(t); n != 0 {
		t.Errorf("refused deliveries left %d ledger items", n)
	}
	if r := f.record(t, acct); r.Plan != plans.Standard || r.Status != "" {
		t.Errorf("refused deliveries changed the account: %+v", r)
	}
	// Both signing secrets are accepted (a roll), and Stripe's header with
	// one signature per secret too; and a clock a little ahead of ours
	// (within MaxFutureSkew).
	for _, header := range []string{sign(body, secretB, now),
		sign(body, secretA, now) + "," + strings.SplitN(sign(body, secretB, now), ",", 2)[1],
		sign(body, secretA, time.Now().Add(MaxFutureSkew-time.Second))} {
		if w := f.deliver(body, header); w.Code != http.StatusOK {
			t.Errorf("header %q: %d %s", header, w.Code, w.Body)
		}
	}
	if r := f.record(t, acct); r.Plan != plans.Premium {
		t.Errorf("plan %s after a properly signed invoice.paid", r.Plan)
	}
}

func TestTheSameEventTenTimesIsAppliedOnce(t *testing.T) {
	f := newFixture(t)
	_, cus := f.customer(t)
	sub := "sub_" + cus[4:]
	f.subscribe(cus, sub, stripe.SubscriptionStatusActive, premiumPrice)

	t.Run("sequentially", func(t *testing.T) {
		id := newEventID()
		before := f.backend.Calls("GET /v1/subscriptions")
		var outcomes []string
		for range 10 {
			w := f.send(id, "customer.subscription.updated", cus, sub)
			if w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			outcomes = append(outcomes, outcome(t, w))
		}
		if outcomes[0] != "applied" || strings.Count(strings.Join(outcomes, " "), "duplicate") != 9 {
			t.Errorf("outcomes %v, want one applied then nine duplicates", outcomes)
		}
		if n := f.backend.Calls("GET /v1/subscriptions") - before; n != 1 {
			t.Errorf("Stripe read %d times, want once", n)
		}
	})
	t.Run("concurrently", func(t *testing.T) {
		id := newEventID()
		before := f.backend.Calls("GET /v1/subscriptions")
		body := eventBody(id, "customer.subscription.updated", cus, sub)
		header := sign(body, secretA, time.Now())
		var wg sync.WaitGroup
		results := make([]string, 10)
		for i := range results {
			wg.Go(func() {
				w := f.deliver(body, header)
				results[i] = fmt.Sprintf("%d %s", w.Code, outcome(t, w))
			})
		}
		wg.Wait()
		applied := 0
		for _, r := range results {
			switch r {
			case "200 applied":
				applied++
			case "200 duplicate", "409 event_in_progress":
			default:
				t.Errorf("unexpected answer %s", r)
			}
		}
		if applied != 1 {
			t.Errorf("applied %d times: %v", applied, results)
		}
		if n := f.backend.Calls("GET /v1/subscriptions") - before; n != 1 {
			t.Errorf("Stripe read %d times, want once", n)
		}
		// A delivery refused as in progress is acknowledged when retried.
		if w := f.deliver(body, sign(body, secretA, time.Now())); outcome(t, w) != "duplicate" {
			t.Errorf("retry: %d %s", w.Code, w.Body)
		}
	})
}

// permutations returns every order of n items.
func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

func TestEventsInEveryOrderEndInTheRightPlan(t *testing.T) {
	f := newFixture(t)
	// A customer's life: checkout, a failed renewal, a paid retry, and (in
	// the second story) cancellation. Stripe sends an event at each step,
	// all within the same second; deliveries arrive in any order.
	types := []string{"checkout.session.completed", "customer.subscription.created",
		"invoice.payment_failed", "customer.subscription.updated", "invoice.paid"}
	for _, story := range []struct {
		name      string
		final     stripe.SubscriptionStatus
		extra     string
		wantPlan  string
		wantGrace bool
	}{
		{"renewed", stripe.SubscriptionStatusActive, "", plans.Premium, false},
		{"still past due", stripe.SubscriptionStatusPastDue, "", plans.Premium, true},
		{"cancelled", stripe.SubscriptionStatusCanceled, "customer.subscription.deleted", plans.Standard, false},
	} {
		t.Run(story.name, func(t *testing.T) {
			t.Parallel() // stories are independent: each its own accounts
			evs := append([]string{}, types...)
			if story.extra != "" {
				evs = evs[1:] // keep 5 events, so 120 orders
				evs = append(evs, story.extra)
			}
			deliverInEveryOrder(t, f, evs, story.final, story.wantPlan, story.wantGrace)
		})
	}
}

// deliverInEveryOrder plays evs about a fresh customer in each order and
// checks the account's plan after each.
func deliverInEveryOrder(t *testing.T, f *fixture, evs []string, final stripe.SubscriptionStatus, wantPlan string, wantGrace bool) {
	for _, order := range permutations(len(evs)) {
		acct, cus := f.customer(t)
		sub := "sub_" + cus[4:]
		// Stripe's state moves through the story; each event is
		// delivered late, after Stripe has reached its final state.
		f.subscribe(cus, sub, stripe.SubscriptionStatusActive, premiumPrice)
		f.subscribe(cus, sub, stripe.SubscriptionStatusPastDue, premiumPrice)
		f.subscribe(cus, sub, final, premiumPrice)
		for _, k := range order {
			if w := f.send(newEventID(), evs[k], cus, sub); w.Code != http.StatusOK {
				t.Fatalf("order %v: %d %s", order, w.Code, w.Body)
			}
		}
		r := f.record(t, acct)
		if r.PlanAt(f.clock.Now()) != wantPlan || r.Status != string(final) || (r.PlanGraceUntil != 0) != wantGrace {
			t.Fatalf("order %v: plan %s status %s grace %d", order, r.Plan, r.Status, r.PlanGraceUntil)
		}
	}
}

func TestAStaleReadNeverOverwritesANewerOne(t *testing.T) {
	f := newFixture(t)
	acct, cus := f.customer(t)
	ctx := context.Background()
	now := f.clock.Now().UnixMilli()
	newer := billingState(plans.Premium, "active")
	older := billingState(plans.Standard, "canceled")
	if ok, err := f.store.Apply(ctx, acct, cus, newer, now, f.clock.Now()); err != nil || !ok {
		t.Fatalf("apply newer: %v %v", ok, err)
	}
	// Same millisecond: applied (two reads at one instant see one state).
	if ok, err := f.store.Apply(ctx, acct, cus, newer, now, f.clock.Now()); err != nil || !ok {
		t.Fatalf("apply same instant: %v %v", ok, err)
	}
	if ok, err := f.store.Apply(ctx, acct, cus, older, now-1, f.clock.Now()); err != nil || ok {
		t.Fatalf("an older read was written: %v %v", ok, err)
	}
	if r := f.record(t, acct); r.Plan != plans.Premium {
		t.Errorf("plan %s", r.Plan)
	}
	// Another customer's state never lands on this account.
	if ok, err := f.store.Apply(ctx, acct, "cus_someoneelse", older, now+1, f.clock.Now()); err != nil || ok {
		t.Fatalf("another customer's state was written: %v %v", ok, err)
	}
}

func TestUnknownCustomersAndOtherTypesChangeNothing(t *testing.T) {
	f := newFixture(t)
	acct, cus, sub := f.subscriber(t, stripe.SubscriptionStatusActive, premiumPrice)
	stranger := f.backend.AddCustomer() // exists at Stripe, not linked to any account
	f.subscribe(stranger, "sub_stranger", stripe.SubscriptionStatusActive, premiumPrice)
	for _, tc := range []struct{ typ, cus, want string }{
		{"invoice.paid", stranger, "unknown_customer"},
		{"customer.subscription.updated", "cus_neverheardof", "unknown_customer"},
		{"payment_intent.succeeded", cus, "ignored"},
		{"charge.refunded", cus, "ignored"},
	} {
		w := f.send(newEventID(), tc.typ, tc.cus, sub)
		if w.Code != http.StatusOK || outcome(t, w) != tc.want {
			t.Errorf("%s: %d %s, want 200 %s", tc.typ, w.Code, w.Body, tc.want)
		}
	}
	if r := f.record(t, acct); r.Plan != plans.Standard || r.Status != "" {
		t.Errorf("the account changed: %+v", r)
	}
	if !strings.Contains(f.logs.String(), `"StripeEvent_ignored":1`) {
		t.Errorf("ignored events are not counted")
	}
	// Once the account is deleted, its customer's events change nothing
	// and the stale link is forgotten.
	if _, err := f.client.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: &f.table,
		Key: accountKey(acct)}); err != nil {
		t.Fatal(err)
	}
	if w := f.send(newEventID(), "invoice.paid", cus, sub); outcome(t, w) != "unknown_customer" {
		t.Errorf("event of a deleted account: %d %s", w.Code, w.Body)
	}
	if a, _ := f.store.AccountOf(context.Background(), cus); a != "" {
		t.Errorf("the deleted account's customer still leads to %s", a)
	}
}

func TestAFailureMidwayIsRetriedByStripe(t *testing.T) {
	t.Run("Stripe unreachable", func(t *testing.T) {
		f := newFixture(t)
		acct, cus, sub := f.subscriber(t, stripe.SubscriptionStatusActive, premiumPrice)
		f.backend.Fail = func(method, path string) error {
			if path == "/v1/subscriptions" {
				return &stripe.Error{HTTPStatusCode: 500, Type: stripe.ErrorTypeAPI, Msg: "boom"}
			}
			return nil
		}
		id := newEventID()
		if w := f.send(id, "invoice.paid", cus, sub); w.Code != http.StatusServiceUnavailable || outcome(t, w) != "stripe_unavailable" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if r := f.record(t, acct); r.Plan != plans.Standard {
			t.Fatalf("plan %s after a failed delivery", r.Plan)
		}
		f.backend.Fail = nil
		if w := f.send(id, "invoice.paid", cus, sub); outcome(t, w) != "applied" {
			t.Fatalf("retry: %d %s", w.Code, w.Body)
		}
		if r := f.record(t, acct); r.Plan != plans.Premium {
			t.Fatalf("plan %s after the retry", r.Plan)
		}
	})
	t.Run("DynamoDB write fails", func(t *testing.T) {
		st := testenv.NewStack(t)
		client := stack.DynamoDBClient(st.DynamoDBEndpoint)
		faulty := &failingUpdates{DynamoDB: client}
		f := newFixtureOn(t, client, faulty, st.Tables["StateTable"])
		acct, cus, sub := f.subscriber(t, stripe.SubscriptionStatusActive, premiumPrice)
		faulty.failNext.Store(true)
		id := newEventID()
		if w := f.send(id, "invoice.paid", cus, sub); w.Code != http.StatusInternalServerError {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if n := f.eventRecords(t); n != 0 {
			t.Fatalf("a failed event left %d ledger items (a retry would be refused)", n)
		}
		if w := f.send(id, "invoice.paid", cus, sub); outcome(t, w) != "applied" {
			t.Fatalf("retry: %d %s", w.Code, w.Body)
		}
		if r := f.record(t, acct); r.Plan != plans.Premium {
			t.Fatalf("plan %s after the retry", r.Plan)
		}
	})
	t.Run("a crashed delivery's lease lapses", func(t *testing.T) {
		f := newFixture(t)
		acct, cus, sub := f.subscriber(t, stripe.SubscriptionStatusActive, premiumPrice)
		id := newEventID()
		// A delivery took the event and died before finishing.
		if _, err := f.svc.Ledger.Begin(context.Background(), id, "invoice.paid"); err != nil {
			t.Fatal(err)
		}
		if w := f.send(id, "invoice.paid", cus, sub); w.Code != http.StatusConflict || w.Header().Get("Retry-After") == "" {
			t.Fatalf("while the lease holds: %d %s", w.Code, w.Body)
		}
		f.clock.Advance(61 * time.Second)
		if w := f.send(id, "invoice.paid", cus, sub); outcome(t, w) != "applied" {
			t.Fatalf("after the lease lapsed: %d %s", w.Code, w.Body)
		}
		if r := f.record(t, acct); r.Plan != plans.Premium {
			t.Fatalf("plan %s", r.Plan)
		}
	})
}

func TestGracePeriodAfterAFailedPayment(t *testing.T) {
	f := newFixture(t)
	acct, cus, sub := f.subscriber(t, stripe.SubscriptionStatusPastDue, premiumPrice)
	start := f.clock.Now()
	if w := f.send(newEventID(), "invoice.payment_failed", cus, sub); outcome(t, w) != "applied" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	want := start.Add(grace).Unix()
	if r := f.record(t, acct); r.PlanGraceUntil != want {
		t.Fatalf("grace until %d, want %d", r.PlanGraceUntil, want)
	}
	// Stripe's retries fail again a day later: the deadline does not move.
	f.clock.Advance(24 * time.Hour)
	if w := f.send(newEventID(), "invoice.payment_failed", cus, sub); outcome(t, w) != "applied" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	r := f.record(t, acct)
	if r.PlanGraceUntil != want {
		t.Errorf("a second failure moved the deadline to %d", r.PlanGraceUntil)
	}
	f.clock.Set(time.Unix(want-1, 0))
	if p := r.PlanAt(f.clock.Now()); p != plans.Premium {
		t.Errorf("a second before the deadline: %s", p)
	}
	f.clock.Set(time.Unix(want, 0))
	if p := r.PlanAt(f.clock.Now()); p != plans.Standard {
		t.Errorf("at the deadline: %s", p)
	}
	// A payment succeeds: premium again, no deadline.
	f.subscribe(cus, sub, stripe.SubscriptionStatusActive, premiumPrice)
	if w := f.send(newEventID(), "invoice.paid", cus, sub); outcome(t, w) != "applied" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if r := f.record(t, acct); r.PlanAt(f.clock.Now()) != plans.Premium || r.PlanGraceUntil != 0 {
		t.Errorf("after payment: %s, grace %d", r.PlanAt(f.clock.Now()), r.PlanGraceUntil)
	}
}

func TestABodyBase64EncodedByAPIGateway(t *testing.T) {
	f := newFixture(t)
	acct, cus, sub := f.subscriber(t, stripe.SubscriptionStatusActive, premiumPrice)
	body := eventBody(newEventID(), "customer.subscription.created", cus, sub)
	now := time.Now()
	// Stripe signs with both secrets during a roll: the header holds commas,
	// which the adapter must keep.
	header := sign(body, secretB, now) + "," + strings.SplitN(sign(body, secretA, now), ",", 2)[1]
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: "/v1/webhooks/stripe", IsBase64Encoded: true,
		Body:    base64.StdEncoding.EncodeToString(body),
		Headers: map[string]string{"content-type": "application/json", "stripe-signature": header},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-b64",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v1/webhooks/stripe", SourceIP: "192.0.2.1"}},
	}
	resp, err := lambdahttp.Handler(f.handler)(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"applied"`) {
		t.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
	}
	if r := f.record(t, acct); r.Plan != plans.Premium {
		t.Errorf("plan %s", r.Plan)
	}
}

func TestBodiesAreBounded(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"id":"evt_big","type":"invoice.paid","pad":"` + strings.Repeat("x", MaxBody) + `"}`)
	if w := f.deliver(body, sign(body, secretA, time.Now())); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func TestNoSecretCardOrAddressInAnyLogLine(t *testing.T) {
	f := newFixture(t)
	acct, cus, sub := f.subscriber(t, stripe.SubscriptionStatusActive, premiumPrice)
	a, err := f.accounts.Account(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	// An event carrying what must never be logged (Stripe never sends a full
	// card number; the test makes sure it would not travel if it did).
	const card = "4242424242424242"
	body := []byte(fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.payment_failed","data":{"object":{"id":"in_1","customer":%q,"customer_email":%q,"subscription":%q,"payment_method_details":{"card":{"number":%q}}}}}`,
		newEventID(), cus, a.Email, sub, card))
	f.deliver(body, sign(body, secretA, time.Now()))
	f.deliver(body, sign(body, "whsec_wrong_secret_for_the_log_test", time.Now()))
	f.deliver(body, sign(body, secretA, time.Now().Add(-time.Hour)))
	f.backend.Fail = func(string, string) error { return errors.New("dial tcp: " + a.Email) }
	f.send(newEventID(), "invoice.paid", cus, sub)
	logs := f.logs.String()
	if !strings.Contains(logs, "stripe_event") {
		t.Fatal("no stripe_event line logged: the check would prove nothing")
	}
	for _, secret := range []string{card, a.Email, secretA, secretB, "sk_test_webhook_fixture", "whsec_"} {
		if strings.Contains(strings.ToLower(logs), strings.ToLower(secret)) {
			t.Errorf("the logs hold %q", secret)
		}
	}
}
