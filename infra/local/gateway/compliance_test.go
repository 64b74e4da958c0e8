package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/atrium-cdn/atrium/functions/compliance/complianceapi"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
)

// TestComplianceRoundTrip walks the compliance function through the whole local API, with the
// plan changed by the billing path as in production: a standard account may not ask for the SOC
// 2 report; once checkout and a signed Stripe webhook make it premium it still needs the current
// NDA; with the NDA accepted the request is recorded, listed and emailed to the account manager
// (Mailpit). A public DMCA notice is recorded and emailed to the designated agent, and none of the
// complainant's personal data reaches a log line (TestMain's log check).
func TestComplianceRoundTrip(t *testing.T) {
	remember(stack.LocalStripeKey, stack.LocalWebhookSecret)
	token, acct := signUpAndVerify(t, newAddress(t), strongPassword(t))
	acctID := acct["id"].(string)

	soc2 := func() response {
		return do(t, request{method: "POST", path: "/v1/compliance/requests", header: bearer(token),
			body: map[string]string{"type": "soc2_report"}})
	}
	r := soc2()
	wantProblem(t, r, http.StatusForbidden, "premium_required")
	if !strings.Contains(r.str("detail"), "/v1/billing/checkout") {
		t.Errorf("premium_required does not say how to upgrade: %s", r.Raw)
	}

	// Checkout links a Stripe customer; Stripe then tells us the subscription was created
	// (stripe-mock's subscription fixture is active on the local premium price).
	r = do(t, request{method: "POST", path: "/v1/billing/checkout", header: bearer(token), body: map[string]string{"plan": "premium"}})
	if r.Status != http.StatusOK || !strings.HasPrefix(r.str("url"), "https://") {
		t.Fatalf("checkout: %d %s", r.Status, r.Raw)
	}
	rec, err := billing.NewStore(stack.DynamoDBClient(theStack.DynamoDBEndpoint), theStack.Tables["StateTable"], nil).
		Record(context.Background(), acctID)
	if err != nil || rec.StripeCustomerID == "" {
		t.Fatalf("no customer linked: %v %+v", err, rec)
	}
	body := fmt.Sprintf(`{"id":%q,"object":"event","api_version":%q,"type":"customer.subscription.created","data":{"object":{"id":"sub_x","object":"subscription","customer":%q}}}`,
		fmt.Sprintf("evt_compliance%d", time.Now().UnixNano()), stripe.APIVersion, rec.StripeCustomerID)
	signature := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: stack.LocalWebhookSecret}).Header
	if r := do(t, request{method: "POST", path: "/v1/webhooks/stripe", body: body,
		header: map[string]string{"Stripe-Signature": signature}}); r.Status != http.StatusOK || r.str("outcome") != "applied" {
		t.Fatalf("webhook: %d %s", r.Status, r.Raw)
	}

	// Premium now, on the very next request, but the SOC 2 report is shared under NDA.
	r = soc2()
	wantProblem(t, r, http.StatusForbidden, "nda_required")
	if !strings.Contains(r.str("detail"), complianceapi.DefaultNDAVersion) {
		t.Errorf("nda_required does not name the NDA version: %s", r.Raw)
	}

	const signatory, title = "Imogen Halloway-Strand", "Head of Security"
	remember(signatory)
	r = do(t, request{method: "POST", path: "/v1/compliance/nda", header: bearer(token),
		body: map[string]any{"signatory_name": signatory, "signatory_title": title, "accept": true}})
	if r.Status != http.StatusCreated || r.str("nda", "version") != complianceapi.DefaultNDAVersion || r.str("nda", "signatory_name") != signatory {
		t.Fatalf("NDA: %d %s", r.Status, r.Raw)
	}

	r = soc2()
	id := r.str("request", "id")
	if r.Status != http.StatusCreated || !strings.HasPrefix(id, "creq_") || r.str("request", "type") != "soc2_report" ||
		r.str("request", "status") != "received" || r.str("request", "nda_version") != complianceapi.DefaultNDAVersion {
		t.Fatalf("SOC 2 request: %d %s", r.Status, r.Raw)
	}
	m := testenv.WaitForMailNaming(t, stack.LocalAccountManager, id)
	for _, want := range []string{"soc2_report", acctID, "plan: premium", signatory} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the account manager's email about %s does not say %q", id, want)
		}
	}

	r = do(t, request{method: "GET", path: "/v1/compliance/requests", header: bearer(token)})
	reqs, _ := r.JSON["requests"].([]any)
	var listed []any
	for _, q := range reqs {
		m, _ := q.(map[string]any)
		listed = append(listed, m["id"])
	}
	if r.Status != http.StatusOK || !slices.Equal(listed, []any{id}) ||
		r.str("nda", "current_version") != complianceapi.DefaultNDAVersion || r.str("nda", "accepted", "version") != complianceapi.DefaultNDAVersion {
		t.Fatalf("list: %d %s, want request %s alone and the NDA accepted", r.Status, r.Raw, id)
	}

	// The DMCA intake is public: no session.
	const (
		complainant = "Cornelius Ashdown-Pryce"
		email       = "c.ashdown-pryce@example.net"
		telephone   = "+44 20 7946 0321"
		address     = "14 Wexcombe Mews\nLondon W1 4QX"
	)
	remember(complainant, email, telephone, "14 Wexcombe Mews", "London W1 4QX")
	r = do(t, request{method: "POST", path: "/v1/dmca", body: map[string]any{
		"infringing_url":   "https://cdn.customer.example/photos/harbour.jpg",
		"original_url":     "https://ashdown-pryce.example/works/harbour",
		"complainant_name": complainant, "postal_address": address, "telephone": telephone, "email": email,
		"good_faith_statement": true, "accuracy_statement": true, "authorized_under_penalty_of_perjury": true,
		"signature": complainant,
	}})
	notice := r.str("notice", "id")
	if r.Status != http.StatusCreated || !strings.HasPrefix(notice, "dmca_") || !strings.Contains(r.str("message"), "hosts none") {
		t.Fatalf("DMCA notice: %d %s", r.Status, r.Raw)
	}
	m = testenv.WaitForMailNaming(t, stack.LocalDMCAAgent, notice)
	for _, want := range []string{complainant, email, telephone, "14 Wexcombe Mews", "https://cdn.customer.example/photos/harbour.jpg"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the DMCA agent's email about %s does not carry %q", notice, want)
		}
	}
	// An empty notice, on purpose: only the answer is checked against the contract.
	wantProblem(t, do(t, request{method: "POST", path: "/v1/dmca", body: map[string]any{}, malformed: true}), http.StatusBadRequest, "validation_failed")
}
