// Command stripe-event signs one Stripe webhook event with the local stack's
// signing secret and posts it to the local stack's webhook, the way Stripe
// delivers one, so that billing can be tried without Stripe.
//
// With `make run` running in another terminal:
//
//	go run ./infra/local/cmd/stripe-event -customer cus_...                  # customer.subscription.updated
//	go run ./infra/local/cmd/stripe-event -type invoice.payment_failed -customer cus_...
//	go run ./infra/local/cmd/stripe-event -type customer.created             # answered "ignored"
//	go run ./infra/local/cmd/stripe-event -id evt_demo1 -customer cus_...    # twice: the second is a "duplicate"
//	go run ./infra/local/cmd/stripe-event -stale -customer cus_...           # signed 10 minutes ago: 400 signature_stale
//	go run ./infra/local/cmd/stripe-event -print -customer cus_...           # show the body and header, send nothing
//
// The webhook finds the account by its Stripe customer, which an account
// gets on its first POST /v1/billing/checkout. GET /v1/billing does not show
// the customer's id; -account acct_... reads it from the account's item in
// the local state table (DynamoDB Local on DYNAMODB_PORT, 8000):
//
//	go run ./infra/local/cmd/stripe-event -type customer.subscription.created -account acct_...
//
// The webhook takes from the event only its id, type and customer, then
// reads the customer's current state from Stripe, here stripe-mock. The
// outcome is stripe-mock's, not the event's: its fixture subscription is
// active on stack.LocalPremiumPrice, so any handled event for a linked
// customer answers "applied" and GET /v1/billing then shows premium, and
// customer.deleted removes nothing, since stripe-mock still has the customer.
// A customer linked to no account answers "unknown_customer".
//
// Flags:
//
//	-type      event type (customer.subscription.updated); one the webhook
//	           handles (stripewebhookapi.Handled) or any other, which it ignores
//	-customer  the Stripe customer (cus_...) the event concerns; required for
//	           the handled types
//	-url       the webhook (http://127.0.0.1:$PORT/v1/webhooks/stripe, PORT 3000)
//	-secret    the signing secret (stack.LocalWebhookSecret)
//	-id        the event id (a fresh random evt_ id); Stripe delivers an event
//	           at least once, and the webhook applies each id once
//	-stale     sign with a timestamp 10 minutes old, beyond the webhook's tolerance
//	-print     print the signed body and its Stripe-Signature header instead of posting
//
// It prints the response's status and body, and exits 1 if the status is
// not 2xx (2 on a usage error).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/atrium-cdn/atrium/functions/stripewebhook/stripewebhookapi"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/ids"
)

const (
	defaultType = "customer.subscription.updated"
	webhookPath = "/v1/webhooks/stripe"
	// staleAge is how old -stale makes the signature: twice the webhook's
	// default tolerance (webhook.DefaultTolerance, 5 minutes).
	staleAge = 10 * time.Minute
	// postTimeout bounds one delivery, the webhook's read of stripe-mock included.
	postTimeout = 30 * time.Second
	// maxResponse bounds the response body printed.
	maxResponse = 1 << 20
)

// The ids the webhook accepts (it answers 400 to others).
var (
	eventIDPattern    = regexp.MustCompile(`^evt_[A-Za-z0-9_]{1,250}$`)
	customerIDPattern = regexp.MustCompile(`^cus_[A-Za-z0-9]{1,250}$`)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stripe-event", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var target string
	var printOnly bool
	fs.StringVar(&o.Type, "type", defaultType, "event `type`; the webhook handles "+strings.Join(handledTypes(), ", ")+" and ignores any other")
	fs.StringVar(&o.Customer, "customer", "", "the Stripe customer (`cus_...`) the event concerns; required for the handled types unless -account names it")
	var account string
	fs.StringVar(&account, "account", "", "the account (`acct_...`) whose Stripe customer the event concerns, read from the local stack's state table")
	fs.StringVar(&target, "url", "", "the webhook `URL` (default http://127.0.0.1:$PORT"+webhookPath+", PORT 3000)")
	fs.StringVar(&o.Secret, "secret", stack.LocalWebhookSecret, "the webhook's signing `secret`")
	fs.StringVar(&o.ID, "id", "", "the event `id` (default a fresh random evt_ id); send one twice to see deduplication")
	fs.BoolVar(&o.Stale, "stale", false, "sign with a timestamp 10 minutes old, which the webhook refuses with a 400")
	fs.BoolVar(&printOnly, "print", false, "print the signed body and Stripe-Signature header instead of posting")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stripe-event [-type TYPE] -customer cus_... [-id evt_...] [-stale] [-print] [-url URL] [-secret whsec_...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "stripe-event: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if target == "" && !printOnly {
		var err error
		if target, err = defaultURL(getenv); err != nil {
			return usageError("%v (or pass -url)", err)
		}
	}
	if account != "" && o.Customer == "" {
		c, err := customerOf(ctx, getenv, account)
		if err != nil {
			fmt.Fprintf(stderr, "stripe-event: %v\n", err)
			return 1
		}
		o.Customer = c
	}
	d, err := newDelivery(o)
	if err != nil {
		return usageError("%v", err)
	}
	if !stripewebhookapi.Handled[stripe.EventType(o.Type)] {
		fmt.Fprintf(stderr, "stripe-event: note: the webhook ignores %s events (it handles %s)\n", o.Type, strings.Join(handledTypes(), ", "))
	}
	if printOnly {
		fmt.Fprintf(stdout, "Stripe-Signature: %s\n\n%s\n", d.Header, d.Body)
		return 0
	}
	fmt.Fprintf(stdout, "POST %s  %s %s\n", target, d.Type, d.ID)
	r, err := post(ctx, &http.Client{Timeout: postTimeout}, target, d)
	if err != nil {
		fmt.Fprintf(stderr, "stripe-event: %v (is the local stack running? make run)\n", err)
		return 1
	}
	fmt.Fprintln(stdout, r.Status)
	if len(r.Body) > 0 {
		fmt.Fprintf(stdout, "%s\n", bytes.TrimRight(r.Body, "\n"))
	}
	if r.Code < 200 || r.Code > 299 {
		return 1
	}
	return 0
}

// customerOf reads the account's Stripe customer from the state table of
// `make run` (DynamoDB Local on DYNAMODB_PORT, 8000).
func customerOf(ctx context.Context, getenv func(string) string, accountID string) (string, error) {
	port := 8000
	if s := getenv("DYNAMODB_PORT"); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			return "", fmt.Errorf("DYNAMODB_PORT=%q is not a port number", s)
		}
		port = p
	}
	db := stack.DynamoDBClient(fmt.Sprintf("http://127.0.0.1:%d", port))
	rec, err := billing.NewStore(db, stack.LocalTableName("StateTable"), nil).Record(ctx, accountID)
	if err != nil {
		return "", fmt.Errorf("read account %s from the local state table (is make run running?): %w", accountID, err)
	}
	if rec.StripeCustomerID == "" {
		return "", fmt.Errorf("account %s has no Stripe customer yet: POST /v1/billing/checkout first", accountID)
	}
	return rec.StripeCustomerID, nil
}

// defaultURL is the local stack's webhook, on the API port atrium-local
// run listens on (PORT, 3000).
func defaultURL(getenv func(string) string) (string, error) {
	port := 3000
	if s := getenv("PORT"); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			return "", fmt.Errorf("PORT=%q is not a port number", s)
		}
		port = p
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, webhookPath), nil
}

func handledTypes() []string {
	var types []string
	for t := range stripewebhookapi.Handled {
		types = append(types, string(t))
	}
	slices.Sort(types)
	return types
}

// options are what to send.
type options struct {
	Type     string
	Customer string // a cus_ id; required for the types the webhook handles
	ID       string // the event id; "" for a fresh one
	Secret   string
	Stale    bool      // sign as of staleAge ago
	Now      time.Time // the clock; zero for time.Now()
}

// delivery is one signed event, as Stripe posts it.
type delivery struct {
	ID, Type string
	Body     []byte // the event, signed byte for byte
	Header   string // its Stripe-Signature header
}

// newDelivery builds the event o describes and signs it.
func newDelivery(o options) (delivery, error) {
	if o.Type == "" {
		return delivery{}, errors.New("-type is empty")
	}
	if o.Secret == "" {
		return delivery{}, errors.New("-secret is empty")
	}
	if o.ID == "" {
		o.ID = ids.New("evt")
	} else if !eventIDPattern.MatchString(o.ID) {
		return delivery{}, fmt.Errorf("-id %q is not an event id (evt_ and letters, digits or _)", o.ID)
	}
	switch {
	case o.Customer != "" && !customerIDPattern.MatchString(o.Customer):
		return delivery{}, fmt.Errorf("-customer %q is not a customer id (cus_ and letters or digits)", o.Customer)
	case o.Customer == "" && stripewebhookapi.Handled[stripe.EventType(o.Type)]:
		return delivery{}, fmt.Errorf("-customer is required for %s events", o.Type)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if o.Stale {
		now = now.Add(-staleAge)
	}
	body, err := json.MarshalIndent(event{
		ID: o.ID, Object: "event", APIVersion: stripe.APIVersion, Created: now.Unix(), Type: o.Type,
		Data: eventData{Object: objectFor(o.Type, o.Customer, now.Unix())},
	}, "", "  ")
	if err != nil {
		return delivery{}, fmt.Errorf("encode the event: %w", err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: o.Secret, Timestamp: now})
	return delivery{ID: o.ID, Type: o.Type, Body: signed.Payload, Header: signed.Header}, nil
}

// event is a Stripe event, with the fields the webhook reads and a few more.
type event struct {
	ID         string    `json:"id"`
	Object     string    `json:"object"`
	APIVersion string    `json:"api_version"`
	Created    int64     `json:"created"`
	Type       string    `json:"type"`
	Livemode   bool      `json:"livemode"`
	Data       eventData `json:"data"`
}

type eventData struct {
	Object any `json:"object"`
}

// The objects the events carry, reduced to their ids and a few fields a
// reader of the event expects; the webhook reads only the customer.
type (
	subscription struct {
		ID                string `json:"id"`
		Object            string `json:"object"`
		Customer          string `json:"customer,omitempty"`
		Status            string `json:"status"`
		CancelAtPeriodEnd bool   `json:"cancel_at_period_end"`
		Created           int64  `json:"created"`
		Livemode          bool   `json:"livemode"`
	}
	invoice struct {
		ID            string `json:"id"`
		Object        string `json:"object"`
		Customer      string `json:"customer,omitempty"`
		Subscription  string `json:"subscription"`
		BillingReason string `json:"billing_reason"`
		Status        string `json:"status"`
		Paid          bool   `json:"paid"`
		Created       int64  `json:"created"`
		Livemode      bool   `json:"livemode"`
	}
	checkoutSession struct {
		ID            string `json:"id"`
		Object        string `json:"object"`
		Customer      string `json:"customer,omitempty"`
		Subscription  string `json:"subscription"`
		Mode          string `json:"mode"`
		Status        string `json:"status"`
		PaymentStatus string `json:"payment_status"`
		Created       int64  `json:"created"`
		Livemode      bool   `json:"livemode"`
	}
	customer struct {
		ID       string `json:"id"`
		Object   string `json:"object"`
		Created  int64  `json:"created"`
		Livemode bool   `json:"livemode"`
	}
	// other stands for the object of a type this command has no model of
	// (the webhook ignores those): named after the type, as Stripe's are.
	other struct {
		ID       string `json:"id"`
		Object   string `json:"object"`
		Customer string `json:"customer,omitempty"`
		Created  int64  `json:"created"`
		Livemode bool   `json:"livemode"`
	}
)

// objectFor returns the object an event of type typ carries: a subscription
// for customer.subscription.*, an invoice for invoice.*, a checkout session
// for checkout.session.*, the customer itself for customer.created,
// .updated and .deleted.
func objectFor(typ, cus string, created int64) any {
	switch {
	case strings.HasPrefix(typ, "customer.subscription."):
		status := "active"
		if typ == "customer.subscription.deleted" {
			status = "canceled"
		}
		return subscription{ID: ids.New("sub"), Object: "subscription", Customer: cus, Status: status, Created: created}
	case strings.HasPrefix(typ, "invoice."):
		status, paid := "paid", true
		if typ != "invoice.paid" {
			status, paid = "open", false
		}
		return invoice{ID: ids.New("in"), Object: "invoice", Customer: cus, Subscription: ids.New("sub"),
			BillingReason: "subscription_cycle", Status: status, Paid: paid, Created: created}
	case strings.HasPrefix(typ, "checkout.session."):
		return checkoutSession{ID: ids.New("cs_test"), Object: "checkout.session", Customer: cus, Subscription: ids.New("sub"),
			Mode: "subscription", Status: "complete", PaymentStatus: "paid", Created: created}
	case typ == "customer.created" || typ == "customer.updated" || typ == "customer.deleted":
		if cus == "" {
			cus = ids.New("cus")
		}
		return customer{ID: cus, Object: "customer", Created: created}
	default:
		name := typ
		if i := strings.LastIndexByte(typ, '.'); i > 0 {
			name = typ[:i]
		}
		return other{ID: ids.New("obj"), Object: name, Customer: cus, Created: created}
	}
}

// reply is the webhook's answer.
type reply struct {
	Code   int
	Status string // "200 OK"
	Body   []byte // its first maxResponse bytes
}

// post delivers d to url as Stripe does and returns the answer.
func post(ctx context.Context, client *http.Client, url string, d delivery) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return reply{}, fmt.Errorf("post to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", d.Header)
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err // names the method and URL
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return reply{}, fmt.Errorf("read the answer (%s) from %s: %w", resp.Status, url, err)
	}
	return reply{Code: resp.StatusCode, Status: resp.Status, Body: body}, nil
}
