// Command stripe-setup registers the stack's Stripe webhook endpoint and
// writes its signing secret into the stack's Stripe secret (README.md,
// Deploying). It creates or updates one endpoint for exactly the events the
// webhook function handles, at the API version Atrium pins, and finds it
// again by its URL: a second run changes nothing.
//
//	STRIPE_API_KEY=sk_live_... go run ./infra/cmd/stripe-setup \
//	  -url <StripeWebhookUrl output> -secret <StripeSecretId output>
//
// AWS credentials come from the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; for a profile or SSO:
// eval "$(aws configure export-credentials --format env)"); the Region from
// the secret's ARN, or AWS_REGION.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "stripe-setup:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("stripe-setup", flag.ContinueOnError)
	fs.SetOutput(out)
	url := fs.String("url", "", "the stack's webhook URL (output StripeWebhookUrl)")
	secret := fs.String("secret", "", "ARN or name of the stack's Stripe secret (output StripeSecretId)")
	rotate := fs.Bool("rotate", false, "roll the signing secret: a new endpoint, both secrets valid until -finish-rotation")
	finish := fs.Bool("finish-rotation", false, "after -rotate: delete the old endpoint and its secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key := getenv("STRIPE_API_KEY")
	switch {
	case *url == "" || *secret == "":
		return errors.New("-url and -secret are required (the stack's outputs StripeWebhookUrl and StripeSecretId)")
	case !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_"):
		return errors.New("STRIPE_API_KEY must hold a Stripe secret key (sk_...) or a restricted key (rk_...) with write access to webhook endpoints")
	case *rotate && *finish:
		return errors.New("-rotate and -finish-rotation are two runs")
	}
	sm, err := secretsClient(*secret, getenv)
	if err != nil {
		return err
	}
	mode := Ensure
	if *rotate {
		mode = Rotate
	} else if *finish {
		mode = FinishRotation
	}
	s := &Setup{Stripe: NewStripeEndpoints(key, getenv("STRIPE_API_URL")), Secrets: smSecrets{sm},
		URL: *url, SecretID: *secret, APIKey: key, Out: out}
	return s.Run(ctx, mode)
}

// secretsClient is a Secrets Manager client from the environment's
// credentials, in the secret's Region (AWS_ENDPOINT_URL_SECRETS_MANAGER: the
// local stack's endpoint).
func secretsClient(secretID string, getenv func(string) string) (*secretsmanager.Client, error) {
	region := getenv("AWS_REGION")
	if parts := strings.Split(secretID, ":"); len(parts) > 4 && parts[0] == "arn" {
		region = parts[3]
	}
	if region == "" {
		return nil, errors.New("no Region: give the secret's ARN, or set AWS_REGION")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, errors.New(`no AWS credentials in the environment: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ` +
			`(for a profile or SSO: eval "$(aws configure export-credentials --format env)")`)
	}
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if ep := getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	}), nil
}

type smSecrets struct{ c *secretsmanager.Client }

func (s smSecrets) Get(ctx context.Context, id string) (string, error) {
	out, err := s.c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.SecretString), nil
}

func (s smSecrets) Put(ctx context.Context, id, value string) error {
	_, err := s.c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)})
	return err
}

// stripeEndpoints is Endpoints over stripe-go (api.stripe.com, or
// stripe-mock at apiURL).
type stripeEndpoints struct{ api *client.API }

// NewStripeEndpoints returns Endpoints calling Stripe with key.
func NewStripeEndpoints(key, apiURL string) Endpoints {
	cfg := &stripe.BackendConfig{HTTPClient: &http.Client{Timeout: 30 * time.Second}, MaxNetworkRetries: stripe.Int64(2),
		EnableTelemetry: stripe.Bool(false), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelError}}
	if apiURL != "" {
		cfg.URL = stripe.String(apiURL)
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, cfg)
	return stripeEndpoints{client.New(key, &stripe.Backends{API: b, Connect: b, Uploads: b})}
}

func endpoint(e *stripe.WebhookEndpoint) Endpoint {
	return Endpoint{ID: e.ID, URL: e.URL, APIVersion: e.APIVersion, Events: e.EnabledEvents,
		Disabled: e.Status == "disabled", Secret: e.Secret}
}

func (s stripeEndpoints) List(ctx context.Context) ([]Endpoint, error) {
	p := &stripe.WebhookEndpointListParams{}
	p.Context = ctx
	var out []Endpoint
	it := s.api.WebhookEndpoints.List(p)
	for it.Next() {
		out = append(out, endpoint(it.WebhookEndpoint()))
	}
	return out, it.Err()
}

func (s stripeEndpoints) Create(ctx context.Context, url string, events []string, apiVersion string) (Endpoint, error) {
	p := &stripe.WebhookEndpointParams{URL: stripe.String(url), EnabledEvents: stripe.StringSlice(events),
		APIVersion: stripe.String(apiVersion), Description: stripe.String("Atrium (managed by infra/cmd/stripe-setup)")}
	p.Context = ctx
	e, err := s.api.WebhookEndpoints.New(p)
	if err != nil {
		return Endpoint{}, err
	}
	return endpoint(e), nil
}

func (s stripeEndpoints) Update(ctx context.Context, id string, events []string) error {
	p := &stripe.WebhookEndpointParams{EnabledEvents: stripe.StringSlice(events), Disabled: stripe.Bool(false)}
	p.Context = ctx
	_, err := s.api.WebhookEndpoints.Update(id, p)
	return err
}

func (s stripeEndpoints) Delete(ctx context.Context, id string) error {
	p := &stripe.WebhookEndpointParams{}
	p.Context = ctx
	_, err := s.api.WebhookEndpoints.Del(id, p)
	return err
}
