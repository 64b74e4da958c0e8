// Package testenv tells tests where the local stack's services are running.
//
// `make test` starts DynamoDB Local, Mailpit and the local Secrets Manager
// endpoint once for the whole run (infra/local/cmd/atrium-local exec) and
// passes their addresses to every test binary through the environment. A test
// that needs one of them and runs without it fails with a message saying how
// to run it, so `go test ./...` on its own never silently skips anything.
package testenv

import (
	"os"
	"testing"
)

// Environment variables set by `atrium-local exec` for the commands it runs.
// #nosec G101 -- variable names, not credentials
const (
	EnvDynamoDBEndpoint       = "ATRIUM_TEST_DYNAMODB_ENDPOINT"       // http://127.0.0.1:PORT
	EnvMailpitAPI             = "ATRIUM_TEST_MAILPIT_URL"             // http://127.0.0.1:PORT
	EnvSMTPAddr               = "ATRIUM_TEST_SMTP_ADDR"               // 127.0.0.1:PORT
	EnvSecretsManagerEndpoint = "ATRIUM_TEST_SECRETSMANAGER_ENDPOINT" // http://127.0.0.1:PORT
	EnvRIE                    = "ATRIUM_TEST_RIE"                     // path to aws-lambda-rie
	EnvRepoRoot               = "ATRIUM_TEST_REPO_ROOT"               // absolute path of the checkout
	EnvStripeAPI              = "ATRIUM_TEST_STRIPE_URL"              // stripe-mock, http://127.0.0.1:PORT
)

func need(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: this test needs %s from the local stack; run it with `make test` "+
			"(or `go run ./infra/local/cmd/atrium-local exec -- go test ./...`)", name, what)
	}
	return v
}

// DynamoDBEndpoint is the base URL of DynamoDB Local.
func DynamoDBEndpoint(t testing.TB) string { return need(t, EnvDynamoDBEndpoint, "DynamoDB Local") }

// MailpitURL is the base URL of Mailpit's HTTP API.
func MailpitURL(t testing.TB) string { return need(t, EnvMailpitAPI, "Mailpit") }

// SMTPAddr is Mailpit's SMTP host:port.
func SMTPAddr(t testing.TB) string { return need(t, EnvSMTPAddr, "Mailpit's SMTP server") }

// SecretsManagerEndpoint is the base URL of the local Secrets Manager endpoint.
func SecretsManagerEndpoint(t testing.TB) string {
	return need(t, EnvSecretsManagerEndpoint, "the local Secrets Manager endpoint")
}

// StripeAPIURL is the base URL of stripe-mock.
func StripeAPIURL(t testing.TB) string { return need(t, EnvStripeAPI, "stripe-mock") }

// RIE is the path of the aws-lambda-rie binary.
func RIE(t testing.TB) string { return need(t, EnvRIE, "the AWS Lambda Runtime Interface Emulator") }

// RepoRoot is the absolute path of the repository checkout.
func RepoRoot(t testing.TB) string { return need(t, EnvRepoRoot, "the repository root") }
