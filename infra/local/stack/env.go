package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/ids"
)

// Local settings of the functions. The SMTP "password" is a throwaway for
// Mailpit, which accepts any login; secret names are names.
// #nosec G101 -- no real credential here
const (
	LocalAppURL   = "http://localhost:5173" // a dashboard dev server, for links in emails
	LocalMailFrom = "no-reply@atrium.localhost"
	// Where compliance requests and DMCA notices go locally (read them in Mailpit).
	LocalAccountManager = "account-manager@atrium.localhost"
	LocalDMCAAgent      = "dmca-agent@atrium.localhost"
	SMTPSecretName      = "atrium/local/smtp"
	ClientKeyName       = "atrium/local/client-key"
	MFAKeyName          = "atrium/local/mfa-key"
	StripeSecretName    = "atrium/local/stripe"
	// LocalStripeKey is a test-mode key as stripe-mock wants one (letters
	// and digits after sk_test_); it opens nothing anywhere else.
	LocalStripeKey = "sk_test_atriumlocal"
	// LocalWebhookSecret signs the local stack's Stripe events (see
	// cmd/stripe-event); made up, printed at start and in the README.
	LocalWebhookSecret = "whsec_atrium_local_signing_secret"
	// LocalPremiumPrice is the price of stripe-mock's subscription fixture,
	// so that a signed test event locally makes an account premium.
	LocalPremiumPrice = "price_1PgafmB7WZ01zgkW6dKueIc5"
	// LocalSourcesKeyARN stands for the template's SourcesKey; the local
	// Secrets Manager records it on each secret without encrypting.
	LocalSourcesKeyARN = "arn:aws:kms:us-east-1:000000000000:key/atrium-local-sources"
	localSMTPUser      = "atrium-local"
	localSMTPSecret    = "local-only-smtp-password" // Mailpit accepts any login; not a real secret
)

// LocalCredentialsRoleARN and LocalSourcesRoleARN stand for the template's
// CredentialsRole and SourcesRole in the resource policy each source secret
// gets; the local Secrets Manager stores it without evaluating it.
const (
	LocalCredentialsRoleARN = "arn:aws:iam::000000000000:role/atrium-local-credentials" // #nosec G101 -- a role's name, no credential
	LocalSourcesRoleARN     = "arn:aws:iam::000000000000:role/atrium-local-sources"
)

// Stack is a set of running services plus the tables and secrets the
// functions need, ready to hand each function its environment.
type Stack struct {
	*Services
	Prefix          string            // names this stack's tables and source secrets apart
	Tables          map[string]string // table names by logical id
	SMTPSecretARN   string
	ClientKeyARN    string
	MFAKeyARN       string // the key sealing TOTP secrets
	StripeSecretARN string
	// Origins are the dashboard origins allowed to call the API with the
	// session cookie: the template's AllowedOrigins parameter, which feeds
	// both the HTTP API's CORS rules (Parameters) and the functions'
	// ALLOWED_ORIGINS (Env). Prepare sets LocalDashboardOrigins.
	Origins []string
}

// Prepare creates the tables (named under prefix) and seeds the SMTP
// credentials secret, as an operator does before deploying.
func Prepare(ctx context.Context, s *Services, repoRoot, prefix string) (*Stack, error) {
	tables, err := CreateTables(ctx, DynamoDBClient(s.DynamoDBEndpoint), repoRoot, prefix)
	if err != nil {
		return nil, err
	}
	smtpValue, _ := json.Marshal(map[string]string{"username": localSMTPUser, "password": localSMTPSecret})
	arn, err := seedSecret(ctx, s.SecretsManagerEndpoint, SMTPSecretName, string(smtpValue), "SMTP login for Atrium's emails (local stack)")
	if err != nil {
		return nil, err
	}
	// The key of the pseudonyms (keyed hashes) of client and email addresses,
	// random for each data directory, as template.yaml generates it in AWS.
	keyValue, _ := json.Marshal(map[string]string{"key": ids.Secret() + ids.Secret()})
	keyARN, err := seedSecret(ctx, s.SecretsManagerEndpoint, ClientKeyName, string(keyValue), "Key of Atrium's pseudonyms (local stack)")
	if err != nil {
		return nil, err
	}
	// The key sealing TOTP secrets (AES-256-GCM), random for each data
	// directory, as template.yaml generates it in AWS.
	mfaValue, _ := json.Marshal(map[string]string{"key": ids.Secret() + ids.Secret()})
	mfaARN, err := seedSecret(ctx, s.SecretsManagerEndpoint, MFAKeyName, string(mfaValue), "Key sealing Atrium's TOTP secrets (local stack)")
	if err != nil {
		return nil, err
	}
	stripeValue, _ := json.Marshal(map[string]any{"secret_key": LocalStripeKey, "webhook_secrets": []string{LocalWebhookSecret}})
	stripeARN, err := seedSecret(ctx, s.SecretsManagerEndpoint, StripeSecretName, string(stripeValue), "Stripe keys of Atrium (local stack, stripe-mock)")
	if err != nil {
		return nil, err
	}
	return &Stack{Services: s, Prefix: prefix, Tables: tables, SMTPSecretARN: arn, ClientKeyARN: keyARN, MFAKeyARN: mfaARN, StripeSecretARN: stripeARN,
		Origins: LocalDashboardOrigins()}, nil
}

// LocalPasskeyRPID is the passkeys' relying party id locally: a browser
// accepts "localhost" (a secure context over plain HTTP), never an IP
// address, so the dashboard at LocalAppURL is the one passkey origin.
const LocalPasskeyRPID = "localhost"

// LocalAppOrigin is the origin of LocalAppURL (http://localhost:5173).
func LocalAppOrigin() string { return LocalDashboardOrigins()[0] }

// LocalDashboardOrigins are the origins of a dashboard served at LocalAppURL,
// under both of its loopback names: the default allowed origins locally.
func LocalDashboardOrigins() []string {
	u, err := url.Parse(LocalAppURL)
	if err != nil {
		panic(err) // a constant
	}
	return []string{u.Scheme + "://" + u.Host, u.Scheme + "://" + net.JoinHostPort("127.0.0.1", u.Port())}
}

// ParseOrigins reads a comma-separated list of allowed origins, each
// scheme://host[:port] with no path and no trailing slash, as API Gateway
// compares them with a browser's Origin header. "*" is refused: the API
// allows credentials, which a wildcard origin cannot have.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		// Rebuilt from scheme and host alone, an origin is unchanged: no user,
		// path, query, fragment or trailing slash, and in lower case.
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
			o != u.Scheme+"://"+strings.ToLower(u.Host) {
			return nil, fmt.Errorf("allowed origin %q: want scheme://host[:port] in lower case, such as https://app.example.com, with no path or trailing slash", o)
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, errors.New("no allowed origin given")
	}
	return out, nil
}

// Parameters are the values of template.yaml's parameters this stack
// deploys with, as far as the local gateway resolves them (its CORS rules).
func (s *Stack) Parameters() map[string]string {
	return map[string]string{"AllowedOrigins": strings.Join(s.Origins, ",")}
}

// SecretsManagerClient is a client for the local Secrets Manager endpoint.
func SecretsManagerClient(endpoint string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// seedSecret creates a secret unless one of that name exists, and returns its ARN.
func seedSecret(ctx context.Context, endpoint, name, value, description string) (string, error) {
	sm := SecretsManagerClient(endpoint)
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err == nil {
		return aws.ToString(d.ARN), nil
	}
	var nf *smtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		return "", fmt.Errorf("look up secret %s: %w", name, err)
	}
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(value), Description: aws.String(description),
	})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		// Another test package seeded it a moment ago: use that one.
		d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if err != nil {
			return "", fmt.Errorf("look up secret %s: %w", name, err)
		}
		return aws.ToString(d.ARN), nil
	}
	if err != nil {
		return "", fmt.Errorf("create secret %s: %w", name, err)
	}
	return aws.ToString(out.ARN), nil
}

// Env is the environment of a function in this stack, as template.yaml
// would set it in AWS, plus the local endpoints.
func (s *Stack) Env(function string) map[string]string {
	_ = function // every function gets the same variables for now
	return map[string]string{
		"STAGE":                            coldstart.LocalStage,
		"STATE_TABLE":                      s.Tables["StateTable"],
		"REQUEST_LOG_TABLE":                s.Tables["RequestLogTable"],
		"ALLOWED_ORIGINS":                  strings.Join(s.Origins, ","),
		"LOG_LEVEL":                        "info",
		"APP_BASE_URL":                     LocalAppURL,
		"MAIL_FROM":                        LocalMailFrom,
		"SMTP_HOST":                        s.SMTPHost,
		"SMTP_PORT":                        strconv.Itoa(s.SMTPPort),
		"SMTP_CREDENTIALS_SECRET_ARN":      s.SMTPSecretARN,
		"CLIENT_KEY_SECRET_ARN":            s.ClientKeyARN,
		"MFA_KEY_SECRET_ARN":               s.MFAKeyARN,
		"SOURCES_SECRET_PREFIX":            s.Prefix + "/sources/",
		"SOURCES_KMS_KEY_ARN":              LocalSourcesKeyARN,
		"CREDENTIALS_ROLE_ARN":             LocalCredentialsRoleARN,
		"SOURCES_ROLE_ARN":                 LocalSourcesRoleARN,
		"STRIPE_SECRET_ARN":                s.StripeSecretARN,
		"STRIPE_PRICE_ID":                  LocalPremiumPrice,
		"STRIPE_API_URL":                   s.StripeAPIURL,
		"PASSKEY_RP_ID":                    LocalPasskeyRPID,
		"PASSKEY_ORIGINS":                  LocalAppOrigin(),
		"ACCOUNT_MANAGER_EMAIL":            LocalAccountManager,
		"DMCA_EMAIL":                       LocalDMCAAgent,
		"AWS_REGION":                       "us-east-1",
		"AWS_ENDPOINT_URL_DYNAMODB":        s.DynamoDBEndpoint,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": s.SecretsManagerEndpoint,
	}
}

// ColdstartEnv is Env as a coldstart.Env, overridden by overrides, logging to logs.
func (s *Stack) ColdstartEnv(function string, logs io.Writer, overrides map[string]string) coldstart.Env {
	env := s.Env(function)
	for k, v := range overrides {
		env[k] = v
	}
	return coldstart.Env{Getenv: func(k string) string { return env[k] }, Logs: logs}
}
