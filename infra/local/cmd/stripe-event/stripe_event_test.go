package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/atrium-cdn/atrium/functions/stripewebhook/stripewebhookapi"
	"github.com/atrium-cdn/atrium/infra/local/stack"
)

const testCustomer = "cus_TestCustomer123"

// verify checks a delivery as the webhook does (any API version accepted).
func verify(t *testing.T, d delivery, secret string) stripe.Event {
	t.Helper()
	ev, err := webhook.ConstructEventWithOptions(d.Body, d.Header, secret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		t.Fatalf("the signed event does not verify: %v\n%s\n%s", err, d.Header, d.Body)
	}
	return ev
}

// customerAsWebhookReads reads the customer where stripewebhookapi does:
// data.object.id for customer.deleted, data.object.customer otherwise.
func customerAsWebhookReads(t *testing.T, ev stripe.Event) string {
	t.Helper()
	var o struct {
		ID       string          `json:"id"`
		Customer json.RawMessage `json:"customer"`
	}
	if err := json.Unmarshal(ev.Data.Raw, &o); err != nil {
		t.Fatalf("data.object: %v", err)
	}
	if ev.Type == "customer.deleted" {
		return o.ID
	}
	var id string
	if err := json.Unmarshal(o.Customer, &id); err != nil {
		t.Fatalf("data.object.customer is not an id: %s", o.Customer)
	}
	return id
}

func TestEachHandledTypeIsSignedWithItsCustomer(t *testing.T) {
	tests := []struct {
		typ    stripe.EventType
		object string
		// typed decodes data.object as stripe-go would and returns the
		// customer id it finds there.
		typed func(raw []byte) (string, error)
	}{
		{"customer.subscription.created", "subscription", subscriptionCustomer},
		{"customer.subscription.updated", "subscription", subscriptionCustomer},
		{"customer.subscription.deleted", "subscription", subscriptionCustomer},
		{"invoice.paid", "invoice", invoiceCustomer},
		{"invoice.payment_failed", "invoice", invoiceCustomer},
		{"checkout.session.completed", "checkout.session", func(raw []byte) (string, error) {
			var s stripe.CheckoutSession
			err := json.Unmarshal(raw, &s)
			if err == nil && (s.Subscription == nil || !strings.HasPrefix(s.Subscription.ID, "sub_")) {
				return "", errors.New("no subscription")
			}
			return customerID(s.Customer), err
		}},
		{"customer.deleted", "customer", func(raw []byte) (string, error) {
			var c stripe.Customer
			err := json.Unmarshal(raw, &c)
			return c.ID, err
		}},
	}
	covered := map[stripe.EventType]bool{}
	for _, tt := range tests {
		covered[tt.typ] = true
	}
	for typ := range stripewebhookapi.Handled {
		if !covered[typ] {
			t.Errorf("the webhook handles %s, which this test does not cover", typ)
		}
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			if !stripewebhookapi.Handled[tt.typ] {
				t.Fatalf("the webhook no longer handles %s", tt.typ)
			}
			d, err := newDelivery(options{Type: string(tt.typ), Customer: testCustomer, Secret: stack.LocalWebhookSecret})
			if err != nil {
				t.Fatal(err)
			}
			ev := verify(t, d, stack.LocalWebhookSecret)
			if ev.Type != tt.typ || ev.ID != d.ID || !strings.HasPrefix(ev.ID, "evt_") {
				t.Errorf("event %s of type %s; want an evt_ id (%s) of type %s", ev.ID, ev.Type, d.ID, tt.typ)
			}
			if ev.Object != "event" || ev.APIVersion != stripe.APIVersion || ev.Livemode {
				t.Errorf("object %q, api_version %q, livemode %v; want event, %s, false", ev.Object, ev.APIVersion, ev.Livemode, stripe.APIVersion)
			}
			if age := time.Since(time.Unix(ev.Created, 0)); age < -time.Minute || age > time.Minute {
				t.Errorf("created %v ago; want now", age)
			}
			if got := ev.Data.Object["object"]; got != tt.object {
				t.Errorf("data.object.object = %v; want %s", got, tt.object)
			}
			if got := customerAsWebhookReads(t, ev); got != testCustomer {
				t.Errorf("the webhook would read customer %q; want %s", got, testCustomer)
			}
			got, err := tt.typed(ev.Data.Raw)
			if err != nil {
				t.Fatalf("stripe-go cannot read data.object as a %s: %v", tt.object, err)
			}
			if got != testCustomer {
				t.Errorf("stripe-go reads customer %q; want %s", got, testCustomer)
			}
		})
	}
}

func customerID(c *stripe.Customer) string {
	if c == nil {
		return ""
	}
	return c.ID
}

func subscriptionCustomer(raw []byte) (string, error) {
	var s stripe.Subscription
	err := json.Unmarshal(raw, &s)
	return customerID(s.Customer), err
}

func invoiceCustomer(raw []byte) (string, error) {
	var in stripe.Invoice
	err := json.Unmarshal(raw, &in)
	if err == nil && (in.Subscription == nil || !strings.HasPrefix(in.Subscription.ID, "sub_")) {
		return "", errors.New("no subscription")
	}
	return customerID(in.Customer), err
}

func TestIDs(t *testing.T) {
	o := options{Type: defaultType, Customer: testCustomer, Secret: stack.LocalWebhookSecret}
	a, err := newDelivery(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newDelivery(o)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID {
		t.Errorf("two sends share the id %s; want a fresh one each", a.ID)
	}
	o.ID = "evt_repeat_me"
	for range 2 {
		d, err := newDelivery(o)
		if err != nil {
			t.Fatal(err)
		}
		if ev := verify(t, d, o.Secret); ev.ID != o.ID {
			t.Errorf("event id %s; want %s", ev.ID, o.ID)
		}
	}
}

func TestStaleIsOlderThanTheTolerance(t *testing.T) {
	d, err := newDelivery(options{Type: defaultType, Customer: testCustomer, Secret: stack.LocalWebhookSecret, Stale: true})
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := strings.CutPrefix(strings.Split(d.Header, ",")[0], "t=")
	if !ok {
		t.Fatalf("header %q has no timestamp first", d.Header)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(time.Unix(sec, 0)); age <= webhook.DefaultTolerance || age > staleAge+time.Minute {
		t.Errorf("signed %v ago; want about %v, beyond %v", age, staleAge, webhook.DefaultTolerance)
	}
	if _, err := webhook.ConstructEvent(d.Body, d.Header, stack.LocalWebhookSecret); !errors.Is(err, webhook.ErrTooOld) {
		t.Errorf("ConstructEvent: %v; want ErrTooOld", err)
	}
	// Apart from its age, the signature is good.
	if _, err := webhook.ConstructEventWithOptions(d.Body, d.Header, stack.LocalWebhookSecret,
		webhook.ConstructEventOptions{IgnoreTolerance: true, IgnoreAPIVersionMismatch: true}); err != nil {
		t.Errorf("ignoring its age: %v", err)
	}
}

func TestIgnoredTypes(t *testing.T) {
	for _, tt := range []struct{ typ, customer, object string }{
		{"customer.created", "", "customer"},
		{"customer.subscription.paused", testCustomer, "subscription"},
		{"invoice.created", "", "invoice"},
		{"payment_intent.succeeded", "", "payment_intent"},
		{"anything", "", "anything"},
	} {
		t.Run(tt.typ, func(t *testing.T) {
			d, err := newDelivery(options{Type: tt.typ, Customer: tt.customer, Secret: stack.LocalWebhookSecret})
			if err != nil {
				t.Fatal(err)
			}
			ev := verify(t, d, stack.LocalWebhookSecret)
			if string(ev.Type) != tt.typ || ev.Data.Object["object"] != tt.object {
				t.Errorf("type %s with a %v; want %s with a %s", ev.Type, ev.Data.Object["object"], tt.typ, tt.object)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	const secret = stack.LocalWebhookSecret
	for _, tt := range []struct {
		name string
		o    options
		want string
	}{
		{"handled type without customer", options{Type: "invoice.paid", Secret: secret}, "-customer is required"},
		{"not a customer id", options{Type: defaultType, Customer: "acct_123", Secret: secret}, "not a customer id"},
		{"not an event id", options{Type: defaultType, Customer: testCustomer, ID: "evt-1", Secret: secret}, "not an event id"},
		{"no type", options{Customer: testCustomer, Secret: secret}, "-type is empty"},
		{"no secret", options{Type: defaultType, Customer: testCustomer}, "-secret is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newDelivery(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v; want one saying %q", err, tt.want)
			}
		})
	}
}

func TestPostSendsTheSignedEventExactly(t *testing.T) {
	d, err := newDelivery(options{Type: defaultType, Customer: testCustomer, Secret: stack.LocalWebhookSecret})
	if err != nil {
		t.Fatal(err)
	}
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"received":true,"outcome":"applied"}`)
	}))
	defer srv.Close()

	r, err := post(context.Background(), srv.Client(), srv.URL+webhookPath, d)
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != http.StatusOK || string(r.Body) != `{"received":true,"outcome":"applied"}` {
		t.Errorf("answer %d %s", r.Code, r.Body)
	}
	if got.Method != http.MethodPost || got.URL.Path != webhookPath {
		t.Errorf("request %s %s; want POST %s", got.Method, got.URL.Path, webhookPath)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if h := got.Header.Values("Stripe-Signature"); len(h) != 1 || h[0] != d.Header {
		t.Errorf("Stripe-Signature %q; want %q", h, d.Header)
	}
	if !bytes.Equal(gotBody, d.Body) {
		t.Errorf("body differs from the signed one:\n%s\nwant\n%s", gotBody, d.Body)
	}
}

// runCmd runs the command as a shell would, with env as its environment.
func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRun(t *testing.T) {
	var answer = http.StatusOK
	var lastSignature string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastSignature = r.Header.Get("Stripe-Signature")
		w.WriteHeader(answer)
		_, _ = io.WriteString(w, `{"outcome":"x"}`)
	}))
	defer srv.Close()

	code, out, errOut := runCmd(t, nil, "-url", srv.URL, "-customer", testCustomer)
	if code != 0 || !strings.Contains(out, "200 OK\n{\"outcome\":\"x\"}\n") || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 with the status and body", code, out, errOut)
	}
	if !strings.HasPrefix(lastSignature, "t=") {
		t.Errorf("Stripe-Signature %q", lastSignature)
	}

	answer = http.StatusBadRequest
	if code, out, _ := runCmd(t, nil, "-url", srv.URL, "-customer", testCustomer); code != 1 || !strings.Contains(out, "400 Bad Request") {
		t.Errorf("on a 400: exit %d, stdout %q; want 1", code, out)
	}

	if code, _, errOut := runCmd(t, nil, "-url", srv.URL, "-type", "invoice.paid"); code != 2 || !strings.Contains(errOut, "-customer is required") {
		t.Errorf("without -customer: exit %d, stderr %q; want 2", code, errOut)
	}
	if code, _, errOut := runCmd(t, map[string]string{"PORT": "http"}, "-customer", testCustomer); code != 2 || !strings.Contains(errOut, "PORT") {
		t.Errorf("with a bad PORT: exit %d, stderr %q; want 2", code, errOut)
	}

	// Nothing listens: the error says so, and the exit code is 1.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if code, _, errOut := runCmd(t, nil, "-url", closed.URL, "-customer", testCustomer); code != 1 || !strings.Contains(errOut, "make run") {
		t.Errorf("with nothing listening: exit %d, stderr %q; want 1", code, errOut)
	}
}

func TestPrint(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "-print", "-type", "customer.deleted", "-customer", testCustomer, "-id", "evt_printed")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	header, body, ok := strings.Cut(out, "\n\n")
	header, hasName := strings.CutPrefix(header, "Stripe-Signature: ")
	if !ok || !hasName {
		t.Fatalf("output %q; want the header, a blank line and the body", out)
	}
	ev := verify(t, delivery{Body: []byte(strings.TrimSuffix(body, "\n")), Header: header}, stack.LocalWebhookSecret)
	if ev.ID != "evt_printed" || ev.Type != "customer.deleted" || customerAsWebhookReads(t, ev) != testCustomer {
		t.Errorf("printed event %s %s for %s", ev.ID, ev.Type, customerAsWebhookReads(t, ev))
	}

	if _, _, errOut := runCmd(t, nil, "-print", "-type", "charge.succeeded"); !strings.Contains(errOut, "ignores charge.succeeded") {
		t.Errorf("stderr %q; want a note that the webhook ignores the type", errOut)
	}
}

func TestDefaultURL(t *testing.T) {
	for _, tt := range []struct{ port, want string }{
		{"", "http://127.0.0.1:3000/v1/webhooks/stripe"},
		{"3100", "http://127.0.0.1:3100/v1/webhooks/stripe"},
		{"0", ""}, {"65536", ""}, {"x", ""},
	} {
		got, err := defaultURL(func(string) string { return tt.port })
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("PORT=%q: %q, %v; want %q", tt.port, got, err, tt.want)
		}
	}
}

// TestTheWebhookAcceptsTheSignature posts to the webhook's own handler, on
// the paths that need no database: an ignored event is verified and
// acknowledged, a stale one is refused.
func TestTheWebhookAcceptsTheSignature(t *testing.T) {
	s := &stripewebhookapi.Service{
		Secrets: []string{stack.LocalWebhookSecret}, Tolerance: webhook.DefaultTolerance,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: io.Discard,
		FunctionName: "stripewebhook", Now: time.Now,
	}
	srv := httptest.NewServer(s.Routes())
	defer srv.Close()

	for _, tt := range []struct {
		name     string
		o        options
		status   int
		contains string
	}{
		{"ignored", options{Type: "customer.created"}, http.StatusOK, `"outcome":"ignored"`},
		{"stale", options{Type: "customer.created", Stale: true}, http.StatusBadRequest, `"code":"signature_stale"`},
		{"other secret", options{Type: "customer.created", Secret: "whsec_not_the_local_one"}, http.StatusBadRequest, `"code":"signature_invalid"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.o.Secret == "" {
				tt.o.Secret = stack.LocalWebhookSecret
			}
			d, err := newDelivery(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			r, err := post(context.Background(), srv.Client(), srv.URL+webhookPath, d)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != tt.status || !strings.Contains(string(r.Body), tt.contains) {
				t.Errorf("%s %s; want %d with %s", r.Status, r.Body, tt.status, tt.contains)
			}
		})
	}
}
