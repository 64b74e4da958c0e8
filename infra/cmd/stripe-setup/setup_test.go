package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/atrium-cdn/atrium/functions/stripewebhook/stripewebhookapi"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
)

const hookURL = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/webhooks/stripe"

// The endpoint's events are exactly those the webhook function handles.
func TestEventsAreTheHandledOnes(t *testing.T) {
	ev := Events()
	if len(ev) != len(stripewebhookapi.Handled) || !slices.IsSorted(ev) {
		t.Fatalf("Events() = %v", ev)
	}
	for _, e := range ev {
		if !stripewebhookapi.Handled[stripe.EventType(e)] {
			t.Errorf("%s is not handled", e)
		}
	}
}

// recorder is a Stripe double that keeps endpoints (stripe-mock keeps
// nothing) and records every call that changes one.
type recorder struct {
	endpoints []Endpoint
	calls     []string
	n         int
}

func (r *recorder) List(context.Context) ([]Endpoint, error) {
	out := slices.Clone(r.endpoints)
	slices.Reverse(out) // newest first, as Stripe lists them
	for i := range out {
		out[i].Secret = "" // shown only on creation
	}
	return out, nil
}

func (r *recorder) Create(_ context.Context, url string, events []string, v string) (Endpoint, error) {
	r.n++
	e := Endpoint{ID: fmt.Sprintf("we_%d", r.n), URL: url, APIVersion: v, Events: events, Secret: fmt.Sprintf("whsec_recorded_%d_0123456789abcdef", r.n)}
	r.endpoints = append(r.endpoints, e)
	r.calls = append(r.calls, "create "+e.ID)
	return e, nil
}

func (r *recorder) Update(_ context.Context, id string, events []string) error {
	for i := range r.endpoints {
		if r.endpoints[i].ID == id {
			r.endpoints[i].Events, r.endpoints[i].Disabled = events, false
		}
	}
	r.calls = append(r.calls, "update "+id)
	return nil
}

func (r *recorder) Delete(_ context.Context, id string) error {
	r.endpoints = slices.DeleteFunc(r.endpoints, func(e Endpoint) bool { return e.ID == id })
	r.calls = append(r.calls, "delete "+id)
	return nil
}

// countingSecrets is the local Secrets Manager, counting writes.
type countingSecrets struct {
	Secrets
	puts int
}

func (c *countingSecrets) Put(ctx context.Context, id, v string) error {
	c.puts++
	return c.Secrets.Put(ctx, id, v)
}

func stored(t *testing.T, s Secrets, id string) billing.Secret {
	t.Helper()
	v, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var sec billing.Secret
	if err := json.Unmarshal([]byte(v), &sec); err != nil {
		t.Fatalf("%s: %v", v, err)
	}
	return sec
}

// Every path of the set-up against a recording Stripe double and the local
// Secrets Manager, starting from the template's placeholder: the first run
// creates the endpoint and fills the secret in; a second run changes nothing
// at Stripe or in the secret; drifted events are updated in place; a
// rotation keeps the old secret valid until it is finished.
func TestSetupIsIdempotent(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := context.Background()
	id := testenv.PutSecret(t, st, testenv.TemplatePlaceholder(t, "StripeSecret"))
	rec := &recorder{}
	secrets := &countingSecrets{Secrets: smSecrets{stack.SecretsManagerClient(st.SecretsManagerEndpoint)}}
	var out bytes.Buffer
	s := &Setup{Stripe: rec, Secrets: secrets, URL: hookURL, SecretID: id, APIKey: "sk_test_operator_0123456789", Out: &out}
	step := func(name string, mode Mode, calls []string, puts int) {
		t.Helper()
		rec.calls, secrets.puts = nil, 0
		out.Reset()
		if err := s.Run(ctx, mode); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(rec.calls, calls) || secrets.puts != puts {
			t.Fatalf("%s: Stripe calls %v and %d secret writes, want %v and %d\n%s", name, rec.calls, secrets.puts, calls, puts, out.String())
		}
	}

	step("first run", Ensure, []string{"create we_1"}, 1)
	sec := stored(t, secrets, id)
	if sec.SecretKey != s.APIKey || !slices.Equal(sec.WebhookSecrets, []string{"whsec_recorded_1_0123456789abcdef"}) {
		t.Fatalf("secret after the first run: %+v", sec)
	}
	if e := rec.endpoints[0]; e.URL != hookURL || e.APIVersion != billing.APIVersion || !slices.Equal(e.Events, Events()) {
		t.Fatalf("endpoint %+v", e)
	}
	step("second run", Ensure, nil, 0)
	if !strings.Contains(out.String(), "nothing changed") {
		t.Errorf("second run said %q", out.String())
	}

	// Someone edited the endpoint's events (or disabled it) by hand.
	rec.endpoints[0].Events, rec.endpoints[0].Disabled = []string{"invoice.paid"}, true
	step("drifted events", Ensure, []string{"update we_1"}, 0)
	step("after the update", Ensure, nil, 0)

	// Rotation: a new endpoint, both secrets valid, then the old one removed.
	step("rotate", Rotate, []string{"create we_2"}, 1)
	if sec := stored(t, secrets, id); !slices.Equal(sec.WebhookSecrets, []string{"whsec_recorded_2_0123456789abcdef", "whsec_recorded_1_0123456789abcdef"}) || sec.SecretKey != s.APIKey {
		t.Fatalf("secret during the rotation: %+v", sec)
	}
	step("a plain run during the rotation", Ensure, nil, 0)
	step("finish the rotation", FinishRotation, []string{"delete we_1"}, 1)
	if sec := stored(t, secrets, id); !slices.Equal(sec.WebhookSecrets, []string{"whsec_recorded_2_0123456789abcdef"}) {
		t.Fatalf("secret after the rotation: %+v", sec)
	}
	step("finish again", FinishRotation, nil, 0)
	step("plain run after the rotation", Ensure, nil, 0)
}

// An endpoint registered by hand, whose signing secret the stack's secret
// does not hold (Stripe never shows it again), is replaced: a new endpoint
// whose secret is written, the unusable one deleted. The operator's key
// already in the secret is kept.
func TestSetupReplacesAnEndpointWithoutItsSecret(t *testing.T) {
	st := testenv.NewStack(t)
	id := testenv.PutSecret(t, st, `{"secret_key":"rk_live_restricted_0123456789","webhook_secrets":[]}`)
	rec := &recorder{endpoints: []Endpoint{{ID: "we_manual", URL: hookURL, APIVersion: billing.APIVersion, Events: Events()},
		{ID: "we_other", URL: "https://other.example/hook", APIVersion: billing.APIVersion}}}
	sm := smSecrets{stack.SecretsManagerClient(st.SecretsManagerEndpoint)}
	s := &Setup{Stripe: rec, Secrets: sm, URL: hookURL, SecretID: id, APIKey: "sk_live_setupkey_0123456789", Out: &bytes.Buffer{}}
	if err := s.Run(context.Background(), Ensure); err != nil {
		t.Fatal(err)
	}
	if want := []string{"create we_1", "delete we_manual"}; !slices.Equal(rec.calls, want) {
		t.Fatalf("calls %v, want %v", rec.calls, want)
	}
	if sec := stored(t, sm, id); sec.SecretKey != "rk_live_restricted_0123456789" || len(sec.WebhookSecrets) != 1 {
		t.Fatalf("secret %+v: the operator's restricted key must be kept", sec)
	}
}

// withSecret is stripe-mock's endpoints with the signing secret Stripe shows
// on creation, which stripe-mock's fixture leaves empty.
type withSecret struct{ Endpoints }

func (w withSecret) Create(ctx context.Context, url string, events []string, v string) (Endpoint, error) {
	e, err := w.Endpoints.Create(ctx, url, events, v)
	e.Secret = "whsec_filled_in_for_stripe_mock_0123"
	return e, err
}

// The Stripe adapter against stripe-mock (Stripe's own API description,
// which validates every request): the endpoint is created at the URL with
// the pinned API version and the handled events (stripe-mock echoes them),
// and listing, updating and deleting are requests Stripe accepts.
func TestStripeEndpointsAgainstStripeMock(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := context.Background()
	e := NewStripeEndpoints(stack.LocalStripeKey, st.StripeAPIURL)
	created, err := e.Create(ctx, hookURL, Events(), billing.APIVersion)
	if err != nil || created.URL != hookURL || created.APIVersion != billing.APIVersion || !slices.Equal(created.Events, Events()) {
		t.Fatalf("create: %+v %v", created, err)
	}
	if _, err := e.List(ctx); err != nil {
		t.Errorf("list: %v", err)
	}
	if err := e.Update(ctx, created.ID, Events()); err != nil {
		t.Errorf("update: %v", err)
	}
	if err := e.Delete(ctx, created.ID); err != nil {
		t.Errorf("delete: %v", err)
	}
}

// The command against stripe-mock and the local Secrets Manager, through
// its own entry point. stripe-mock returns no signing secret on creation, so
// the run stops with a clear error and leaves the stack's secret as it was
// (never a key without its signing secret half-written); with the secret
// filled in as Stripe returns it, the run writes it beside the key, and the
// result is what the webhook function needs to start.
func TestCommandAgainstStripeMock(t *testing.T) {
	st := testenv.NewStack(t)
	placeholder := testenv.TemplatePlaceholder(t, "StripeSecret")
	id := testenv.PutSecret(t, st, placeholder)
	sm := smSecrets{stack.SecretsManagerClient(st.SecretsManagerEndpoint)}
	env := map[string]string{"STRIPE_API_KEY": stack.LocalStripeKey, "STRIPE_API_URL": st.StripeAPIURL,
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": st.SecretsManagerEndpoint}
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), []string{"-url", hookURL, "-secret", id}, getenv, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no signing secret") {
		t.Fatalf("stripe-mock's endpoint without a secret: %v", err)
	}
	if v, _ := sm.Get(context.Background(), id); v != placeholder {
		t.Fatalf("the secret changed after a failed run: %s", v)
	}

	s := &Setup{Stripe: withSecret{NewStripeEndpoints(stack.LocalStripeKey, st.StripeAPIURL)}, Secrets: sm,
		URL: hookURL, SecretID: id, APIKey: stack.LocalStripeKey, Out: &bytes.Buffer{}}
	if err := s.Run(context.Background(), Ensure); err != nil {
		t.Fatal(err)
	}
	sec := stored(t, sm, id)
	if sec.SecretKey != stack.LocalStripeKey || !slices.Equal(sec.WebhookSecrets, []string{"whsec_filled_in_for_stripe_mock_0123"}) {
		t.Fatalf("secret after the run: %+v", sec)
	}
	if err := sec.Check(true); err != nil {
		t.Errorf("the written secret would not start the webhook function: %v", err)
	}
	// Refusals before anything is touched.
	for _, args := range [][]string{{"-secret", id}, {"-url", "http://insecure.example/v1/webhooks/stripe", "-secret", id},
		{"-url", hookURL, "-secret", id, "-rotate", "-finish-rotation"}} {
		if err := run(context.Background(), args, getenv, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	env["STRIPE_API_KEY"] = "pk_live_publishable"
	if err := run(context.Background(), []string{"-url", hookURL, "-secret", id}, getenv, &bytes.Buffer{}); err == nil {
		t.Error("a publishable key was accepted")
	}
}
