// Package billingtest is a stripe.Backend double that holds customers and
// subscriptions in memory, for tests that need Stripe states stripe-mock
// (stateless: fixtures whatever is asked) cannot hold. The real stripe-go
// client runs on top of it, so requests and responses go through
// stripe-go's own encoding and decoding.
package billingtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/form"
)

// Subscription is one subscription as the double holds it.
type Subscription struct {
	ID                string
	Customer          string
	Status            stripe.SubscriptionStatus
	PriceID           string
	Created           int64
	CurrentPeriodEnd  int64
	CancelAtPeriodEnd bool
}

// Backend is the double. Its zero value is not usable; call New.
type Backend struct {
	mu        sync.Mutex
	customers map[string]bool // id → still exists
	subs      map[string]*Subscription
	byKey     map[string]string // idempotency key → customer id
	calls     map[string]int
	n         int
	// Fail, when set, is asked before each call and may make it fail.
	Fail func(method, path string) error
}

var _ stripe.Backend = (*Backend)(nil)

// New returns an empty double.
func New() *Backend {
	return &Backend{customers: map[string]bool{}, subs: map[string]*Subscription{}, byKey: map[string]string{}, calls: map[string]int{}}
}

// AddCustomer makes a customer exist and returns its id.
func (b *Backend) AddCustomer() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.newCustomer()
}

func (b *Backend) newCustomer() string {
	b.n++
	id := fmt.Sprintf("cus_test%06d", b.n)
	b.customers[id] = true
	return id
}

// DeleteCustomer marks a customer deleted, as Stripe does.
func (b *Backend) DeleteCustomer(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.customers[id] = false
}

// SetSubscription creates or replaces a subscription.
func (b *Backend) SetSubscription(s Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := s
	b.subs[s.ID] = &c
}

// Customers returns the ids of every customer created or added.
func (b *Backend) Customers() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for id := range b.customers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Calls returns how many calls of "METHOD /path-pattern" were made, e.g.
// "GET /v1/subscriptions", "POST /v1/customers", "GET /v1/customers/{id}".
func (b *Backend) Calls(op string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[op]
}

func notFound(what string) error {
	return &stripe.Error{HTTPStatusCode: http.StatusNotFound, Type: stripe.ErrorTypeInvalidRequest,
		Code: stripe.ErrorCodeResourceMissing, Msg: "No such " + what}
}

func respond(v any, obj any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// begin counts a call (under b.mu) and asks Fail about it; it returns the
// call's "METHOD /path-pattern".
func (b *Backend) begin(method, path string) (string, error) {
	op := method + " " + pattern(path)
	b.calls[op]++
	if b.Fail != nil {
		if err := b.Fail(method, path); err != nil {
			return op, err
		}
	}
	return op, nil
}

// Call implements stripe.Backend.
func (b *Backend) Call(method, path, key string, params stripe.ParamsContainer, v stripe.LastResponseSetter) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	op, err := b.begin(method, path)
	if err != nil {
		return err
	}
	var p *stripe.Params
	if params != nil {
		p = params.GetParams()
	}
	switch op {
	case "POST /v1/customers":
		key := ""
		if p != nil && p.IdempotencyKey != nil {
			key = *p.IdempotencyKey
		}
		id, seen := b.byKey[key]
		if !seen || key == "" {
			id = b.newCustomer()
			b.byKey[key] = id
		}
		return respond(v, map[string]any{"id": id, "object": "customer"})
	case "GET /v1/customers/{id}", "DELETE /v1/customers/{id}":
		id := strings.TrimPrefix(path, "/v1/customers/")
		live, known := b.customers[id]
		if !known {
			return notFound("customer: " + id)
		}
		if method == http.MethodDelete {
			b.customers[id] = false
			return respond(v, map[string]any{"id": id, "object": "customer", "deleted": true})
		}
		if !live {
			return respond(v, map[string]any{"id": id, "object": "customer", "deleted": true})
		}
		return respond(v, map[string]any{"id": id, "object": "customer"})
	case "POST /v1/checkout/sessions":
		b.n++
		return respond(v, map[string]any{"id": fmt.Sprintf("cs_test_%d", b.n), "object": "checkout.session",
			"mode": "subscription", "url": fmt.Sprintf("https://checkout.stripe.test/c/pay/cs_test_%d", b.n)})
	case "POST /v1/billing_portal/sessions":
		b.n++
		return respond(v, map[string]any{"id": fmt.Sprintf("bps_test_%d", b.n), "object": "billing_portal.session",
			"url": fmt.Sprintf("https://billing.stripe.test/p/session/test_%d", b.n)})
	}
	return fmt.Errorf("billingtest: %s is not implemented", op)
}

// CallRaw implements stripe.Backend (stripe-go's list calls use it).
func (b *Backend) CallRaw(method, path, key string, body *form.Values, params *stripe.Params, v stripe.LastResponseSetter) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	op, err := b.begin(method, path)
	if err != nil {
		return err
	}
	if op != "GET /v1/subscriptions" {
		return fmt.Errorf("billingtest: %s is not implemented", op)
	}
	q := body.ToValues()
	customer := q.Get("customer")
	if q.Get("status") != "all" {
		return fmt.Errorf("billingtest: Atrium lists subscriptions of every status; got status=%q", q.Get("status"))
	}
	var data []any
	var ids []string
	for id, s := range b.subs {
		if s.Customer == customer {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := b.subs[id]
		data = append(data, map[string]any{
			"id": s.ID, "object": "subscription", "customer": s.Customer, "status": s.Status,
			"created": s.Created, "current_period_end": s.CurrentPeriodEnd, "cancel_at_period_end": s.CancelAtPeriodEnd,
			"items": map[string]any{"object": "list", "data": []any{
				map[string]any{"id": "si_" + strings.TrimPrefix(s.ID, "sub_"), "object": "subscription_item",
					"price": map[string]any{"id": s.PriceID, "object": "price"}}}},
		})
	}
	if data == nil {
		data = []any{}
	}
	return respond(v, map[string]any{"object": "list", "url": "/v1/subscriptions", "has_more": false, "data": data})
}

// CallStreaming implements stripe.Backend; Atrium streams nothing.
func (b *Backend) CallStreaming(method, path, key string, params stripe.ParamsContainer, v stripe.StreamingLastResponseSetter) error {
	return fmt.Errorf("billingtest: streaming %s %s is not implemented", method, path)
}

// CallMultipart implements stripe.Backend; Atrium uploads nothing.
func (b *Backend) CallMultipart(method, path, key, boundary string, body *bytes.Buffer, params *stripe.Params, v stripe.LastResponseSetter) error {
	return fmt.Errorf("billingtest: multipart %s %s is not implemented", method, path)
}

// SetMaxNetworkRetries implements stripe.Backend.
func (b *Backend) SetMaxNetworkRetries(int64) {}

// pattern turns /v1/customers/cus_1 into /v1/customers/{id}.
func pattern(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) == 4 && strings.Contains(parts[3], "_") { // an object id such as cus_1
		parts[3] = "{id}"
	}
	return strings.Join(parts, "/")
}
