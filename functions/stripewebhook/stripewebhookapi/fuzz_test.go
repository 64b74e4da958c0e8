package stripewebhookapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/web"
)

// parser is a Service with only what parse needs: parsing touches nothing.
func parser() *Service {
	return &Service{Secrets: []string{secretA, secretB}, Tolerance: 5 * time.Minute}
}

// checkParse holds for every input: a refusal is a 400 problem; an
// acceptance has a valid event id and, for a handled type, a valid customer.
func checkParse(t *testing.T, d *delivery, err error) {
	if err != nil {
		var pe *web.Error
		if !errors.As(err, &pe) || pe.Status != http.StatusBadRequest {
			t.Fatalf("refusal is not a 400 problem: %v", err)
		}
		return
	}
	if !eventIDPattern().MatchString(d.event.ID) {
		t.Fatalf("accepted event id %q", d.event.ID)
	}
	if d.handled && !customerIDPattern().MatchString(d.customerID) {
		t.Fatalf("accepted customer %q", d.customerID)
	}
}

// FuzzWebhookBody signs whatever body it is given, so the parser behind the
// signature check is what is explored.
func FuzzWebhookBody(f *testing.F) {
	for _, seed := range []string{
		string(eventBody("evt_seed1", "invoice.paid", "cus_seed1", "sub_seed1")),
		string(eventBody("evt_seed2", "customer.deleted", "cus_seed2", "")),
		string(eventBody("evt_seed3", "checkout.session.completed", "cus_seed3", "sub_seed3")),
		string(eventBody("evt_seed4", "payment_intent.succeeded", "cus_seed4", "")),
		`{"id":"evt_1","type":"invoice.paid","data":{"object":{"customer":{"id":"cus_1"}}}}`,
		`{"id":"evt_1","type":"invoice.paid","data":{"object":{"customer":12}}}`,
		`{"id":"evt_1","type":"invoice.paid","data":null}`,
		`{"id":"evt_1","type":"customer.deleted","data":{"object":[]}}`,
		`{"id":"evt_1"}`, `[]`, `null`, ``, `{"id":"evt_\u0000","type":"invoice.paid"}`,
	} {
		f.Add([]byte(seed))
	}
	s := parser()
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := s.parse(body, sign(body, secretA, time.Now()))
		checkParse(t, d, err)
	})
}

// FuzzWebhookSignatureHeader gives a fixed, valid body any header.
func FuzzWebhookSignatureHeader(f *testing.F) {
	body := eventBody("evt_hdr", "invoice.paid", "cus_hdr", "sub_hdr")
	now := time.Now()
	for _, seed := range []string{
		sign(body, secretA, now), sign(body, secretB, now), "", "t=", "v1=", "t=1,v1=zz", "t=abc,v1=00",
		"t=1,v1=" + strings.Repeat("0", 64), ",,,,", "t=1=2,v1=3", sign(body, secretA, now) + ",v0=00,x=y",
	} {
		f.Add(seed)
	}
	s := parser()
	f.Fuzz(func(t *testing.T, header string) {
		d, err := s.parse(body, header)
		checkParse(t, d, err)
		if err == nil && !strings.Contains(header, "v1=") {
			t.Fatalf("accepted a header without a v1 signature: %q", header)
		}
	})
}
