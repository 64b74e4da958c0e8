// Package coldstart builds, once per cold start, what every function shares:
// configuration, the logger, AWS clients, the state table's identity store
// and the session authenticator. Functions build their own extras on top.
package coldstart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/atrium-cdn/atrium/shared/config"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Env is what a function is started with: its environment variables, where
// its logs go, and its clock. In Lambda: os.Getenv, os.Stdout, time.Now.
type Env struct {
	Getenv func(string) string
	Logs   io.Writer
	Now    func() time.Time // nil means time.Now
}

// LocalStage is the stage of the local stack, the only one in which the AWS
// clients use made-up credentials (the stand-ins accept any).
const LocalStage = "local"

// Base is what every function shares.
type Base struct {
	Function string
	Stage    string
	Config   *config.Reader
	Logger   *slog.Logger
	AWS      aws.Config
	DynamoDB *dynamodb.Client
	Table    string
	Origins  []string
	Identity *identity.Store
	Auth     *identity.Authenticator
	Now      func() time.Time
	// RequestLogTable receives one item per request (P6).
	RequestLogTable string
	// Logs is where log lines and metric lines (Embedded Metric Format) go.
	Logs io.Writer
	// FunctionName is the Lambda function's name (AWS_LAMBDA_FUNCTION_NAME),
	// the Function dimension of its metrics.
	FunctionName string

	dynamoEndpoint, secretsEndpoint string
	// secrets is the one Secrets Manager client of the cold start, built on
	// first use (not every function reads a secret).
	secrets func() *secretsmanager.Client
}

// Load reads the shared configuration and builds the shared clients. It
// leaves configuration errors in b.Config for the caller to report together
// with its own (see Finish).
func Load(ctx context.Context, function string, env Env) (*Base, error) {
	r := config.New(env.Getenv)
	now := env.Now
	if now == nil {
		now = time.Now
	}
	b := &Base{
		Function: function,
		Config:   r,
		Stage:    r.Required("STAGE"),
		Table:    r.Required("STATE_TABLE"),
		Origins:  r.List("ALLOWED_ORIGINS"),
		Logger:   logging.New(env.Logs, logging.ParseLevel(r.String("LOG_LEVEL", "info"))),
		Now:      now,

		RequestLogTable: r.Required("REQUEST_LOG_TABLE"),
		Logs:            env.Logs,
		FunctionName:    r.String("AWS_LAMBDA_FUNCTION_NAME", function),

		dynamoEndpoint:  r.URL("AWS_ENDPOINT_URL_DYNAMODB", ""),
		secretsEndpoint: r.URL("AWS_ENDPOINT_URL_SECRETS_MANAGER", ""),
	}
	policy := identity.SessionPolicy{
		IdleTimeout: r.Duration("SESSION_IDLE_TIMEOUT", 30*time.Minute, time.Minute, 24*time.Hour),
		MaxLifetime: r.Duration("SESSION_MAX_LIFETIME", 12*time.Hour, 5*time.Minute, 30*24*time.Hour),
	}
	cfg, err := awsConfig(r, b.Stage == LocalStage)
	if err != nil {
		return nil, err
	}
	b.AWS = cfg
	b.DynamoDB = dynamodb.NewFromConfig(cfg, statetable.RetryConflicts, func(o *dynamodb.Options) {
		if b.dynamoEndpoint != "" {
			o.BaseEndpoint = aws.String(b.dynamoEndpoint)
			// DynamoDB Local's error responses carry a CRC header that does not
			// match; checking it only produces noise there.
			o.DisableValidateResponseChecksum = true
		}
	})
	b.secrets = sync.OnceValue(func() *secretsmanager.Client {
		return secretsmanager.NewFromConfig(b.AWS, func(o *secretsmanager.Options) {
			if b.secretsEndpoint != "" {
				o.BaseEndpoint = aws.String(b.secretsEndpoint)
			}
		})
	})
	b.Identity = identity.NewStore(b.DynamoDB, b.Table, now)
	b.Auth = identity.NewAuthenticator(b.Identity, policy, b.Origins)
	return b, nil
}

// awsConfig builds the AWS configuration from the environment Lambda gives
// every function: AWS_REGION and the execution role's credentials in
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, valid for
// the life of the execution environment. This is what the SDK's
// config.LoadDefaultConfig resolves in Lambda too (environment credentials
// first), without linking its other providers (SSO, IMDS, profiles, STS),
// which would add about 1.6 MiB to every function. In the local stage the
// stand-ins accept any credentials.
func awsConfig(r *config.Reader, local bool) (aws.Config, error) {
	region := r.String("AWS_REGION", "")
	if local {
		if region == "" {
			region = "us-east-1"
		}
		return aws.Config{Region: region,
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}, nil
	}
	if region == "" {
		r.Required("AWS_REGION")
	}
	key, secret := r.String("AWS_ACCESS_KEY_ID", ""), r.String("AWS_SECRET_ACCESS_KEY", "")
	if key == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY " +
			"are set by Lambda from the function's role")
	}
	return aws.Config{Region: region,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, r.String("AWS_SESSION_TOKEN", ""))}, nil
}

// Finish reports every configuration error met, by the shared and the
// function's own reads, in one message.
func (b *Base) Finish() error { return b.Config.Err() }

// SecretsManager returns the cold start's Secrets Manager client (honouring
// the local endpoint); every secret read and the source vault share it.
func (b *Base) SecretsManager() *secretsmanager.Client { return b.secrets() }

// SecretJSON reads a JSON secret from Secrets Manager into dst. Called at cold
// start only; the value stays in memory.
func (b *Base) SecretJSON(ctx context.Context, id string, dst any) error {
	out, err := b.SecretsManager().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("read secret: %w", err)
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), dst); err != nil {
		return fmt.Errorf("decode secret: not the expected JSON") // the value itself is never echoed
	}
	return nil
}

// Serve puts h behind the shared request path (request ids, limits, problem
// errors, panic recovery, access log) and records one request-log item per
// request.
func (b *Base) Serve(h http.Handler) http.Handler { return b.ServeWithBodyLimit(h, web.DefaultMaxBody) }

// ServeWithBodyLimit is Serve for a function whose callers send bodies
// larger than web.DefaultMaxBody (Stripe's webhook deliveries).
func (b *Base) ServeWithBodyLimit(h http.Handler, maxBody int64) http.Handler {
	rec := requestlog.NewRecorder(b.DynamoDB, b.RequestLogTable, b.FunctionName, b.Now, b.Logger, b.Logs)
	return web.Wrap(h, web.Options{Logger: b.Logger, Function: b.Function, MaxBody: maxBody,
		OnComplete: func(r *http.Request, c web.Completed) { rec.Record(r.Context(), c) }})
}

// Build builds a function from the process's environment, once per cold
// start; a configuration error stops the process with a clear message
// (Lambda reports it as an init error).
func Build[T any](build func(context.Context, Env) (T, error)) T {
	fn, err := build(context.Background(), Env{Getenv: os.Getenv, Logs: os.Stdout})
	if err != nil {
		// Printed outside the logger (Lambda reports it as an init error): scrubbed the same way.
		fmt.Fprintf(os.Stderr, "atrium: cannot start: %s\n", logging.Scrub(err.Error()))
		os.Exit(1)
	}
	return fn
}

// Invoked wraps a function's handler for direct invocation (no HTTP API in
// front, so no web.Wrap). aws-lambda-go reports a returned error as
// {"errorMessage","errorType"}, the type being the Go type's name unless the
// error is a messages.InvokeResponse_Error: so the error is returned as one,
// with its text scrubbed as a log line's would be and a type from a small
// documented set (InvokeErrorNotFound, InvokeErrorFailed) that names no Go
// type.
func Invoked[In, Out any](fn func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		out, err := fn(ctx, in)
		if err != nil {
			return out, messages.InvokeResponse_Error{Message: logging.Scrub(err.Error()), Type: InvokeErrorType(err)}
		}
		return out, nil
	}
}

// The errorType values of a failed invocation.
const (
	// InvokeErrorNotFound: what was asked for does not exist (for the
	// credentials function: no such source of that account, or the account
	// is not active).
	InvokeErrorNotFound = "NotFound"
	// InvokeErrorFailed: anything else; the invocation may be retried.
	InvokeErrorFailed = "Failed"
)

// InvokeErrorType is the errorType err is reported with.
func InvokeErrorType(err error) string {
	if errors.Is(err, statetable.ErrNotFound) {
		return InvokeErrorNotFound
	}
	return InvokeErrorFailed
}
