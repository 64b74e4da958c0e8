package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// Local settings of the functions.
const (
	LocalStage      = "local"
	LocalAppURL     = "http://localhost:5173" // a dashboard dev server, for links in emails
	LocalMailFrom   = "no-reply@atrium.localhost"
	SMTPSecretName  = "atrium/local/smtp"
	localSMTPUser   = "atrium-local"
	localSMTPSecret = "local-only-smtp-password" // Mailpit accepts any login; not a real secret
)

// Stack is a set of running services plus the tables and secrets the
// functions need, ready to hand each function its environment.
type Stack struct {
	*Services
	Tables        map[string]string // table names by logical id
	SMTPSecretARN string
	Origins       string
}

// Prepare creates the tables (named under prefix) and seeds the SMTP
// credentials secret, as an operator does before deploying.
func Prepare(ctx context.Context, s *Services, repoRoot, prefix string) (*Stack, error) {
	tables, err := CreateTables(ctx, DynamoDBClient(s.DynamoDBEndpoint), repoRoot, prefix)
	if err != nil {
		return nil, err
	}
	arn, err := seedSMTPSecret(ctx, s.SecretsManagerEndpoint)
	if err != nil {
		return nil, err
	}
	return &Stack{Services: s, Tables: tables, SMTPSecretARN: arn,
		Origins: "http://localhost:5173,http://127.0.0.1:5173"}, nil
}

// SecretsManagerClient is a client for the local Secrets Manager endpoint.
func SecretsManagerClient(endpoint string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

func seedSMTPSecret(ctx context.Context, endpoint string) (string, error) {
	sm := SecretsManagerClient(endpoint)
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(SMTPSecretName)})
	if err == nil {
		return aws.ToString(d.ARN), nil
	}
	var nf *smtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		return "", fmt.Errorf("look up SMTP secret: %w", err)
	}
	value, _ := json.Marshal(map[string]string{"username": localSMTPUser, "password": localSMTPSecret})
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(SMTPSecretName), SecretString: aws.String(string(value)),
		Description: aws.String("SMTP login for Atrium's emails (local stack)"),
	})
	if err != nil {
		return "", fmt.Errorf("create SMTP secret: %w", err)
	}
	return aws.ToString(out.ARN), nil
}

// Env is the environment of a function in this stack, as template.yaml
// would set it in AWS, plus the local endpoints.
func (s *Stack) Env(function string) map[string]string {
	_ = function // every function gets the same variables for now
	return map[string]string{
		"STAGE":                            LocalStage,
		"STATE_TABLE":                      s.Tables["StateTable"],
		"ALLOWED_ORIGINS":                  s.Origins,
		"LOG_LEVEL":                        "info",
		"APP_BASE_URL":                     LocalAppURL,
		"MAIL_FROM":                        LocalMailFrom,
		"SMTP_HOST":                        s.SMTPHost,
		"SMTP_PORT":                        strconv.Itoa(s.SMTPPort),
		"SMTP_CREDENTIALS_SECRET_ARN":      s.SMTPSecretARN,
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
