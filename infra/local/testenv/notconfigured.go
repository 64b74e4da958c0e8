package testenv

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/atrium-cdn/atrium/infra/cfn"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/ids"
)

// TemplatePlaceholder returns the value template.yaml creates the secret
// logicalID with when the operator names none (StripeSecret,
// SmtpCredentialsSecret): the very placeholder a first deployment holds.
func TemplatePlaceholder(t testing.TB, logicalID string) string {
	t.Helper()
	tpl, err := cfn.Load(filepath.Join(RepoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v, ok := tpl.Resources[logicalID].Properties["SecretString"].(string)
	if !ok || v == "" {
		t.Fatalf("template.yaml: %s has no literal SecretString", logicalID)
	}
	return v
}

// PutSecret creates a secret of its own, holding value, in the local Secrets
// Manager, and returns its ARN.
func PutSecret(t testing.TB, st *stack.Stack, value string) string {
	t.Helper()
	out, err := stack.SecretsManagerClient(st.SecretsManagerEndpoint).CreateSecret(context.Background(),
		&secretsmanager.CreateSecretInput{Name: aws.String(st.Prefix + "/test/" + ids.New("s")), SecretString: aws.String(value)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

// SetSecret puts a new value into the secret id, as an operator does.
func SetSecret(t testing.TB, st *stack.Stack, id, value string) {
	t.Helper()
	if _, err := stack.SecretsManagerClient(st.SecretsManagerEndpoint).PutSecretValue(context.Background(),
		&secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

// ExpectNotConfigured serves r with h and wants what a function whose secret
// is not set yet answers: 503 with the problem code not_configured; and in
// logs exactly one not_configured line, naming the secret, written at the
// cold start (before r), never quoting the secret's value.
func ExpectNotConfigured(t testing.TB, h http.Handler, r *http.Request, logs *LogBuffer, secretID, value string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var p struct {
		Code   string `json:"code"`
		Status int    `json:"status"`
	}
	if w.Code != http.StatusServiceUnavailable || json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Code != "not_configured" || p.Status != 503 {
		t.Fatalf("%s %s answered %d %s, want 503 not_configured", r.Method, r.URL.Path, w.Code, w.Body)
	}
	var lines []string
	for line := range strings.SplitSeq(logs.String(), "\n") {
		var l struct {
			Msg       string `json:"msg"`
			Configure string `json:"configure"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "not_configured" {
			lines = append(lines, line)
			if l.Configure != secretID {
				t.Errorf("not_configured line names %q, want the secret %q: %s", l.Configure, secretID, line)
			}
		}
	}
	if len(lines) != 1 {
		t.Errorf("%d not_configured log lines, want 1:\n%s", len(lines), logs.String())
	}
	if value != "" && strings.Contains(logs.String(), value) {
		t.Errorf("the logs quote the secret's value:\n%s", logs.String())
	}
}

// NotConfiguredCase is an HTTP function whose secret starts as the
// template's placeholder (see CheckNotConfigured).
type NotConfiguredCase struct {
	Function string // its name, for the environment
	New      func(context.Context, coldstart.Env) (http.Handler, error)
	Variable string // the variable naming the secret (STRIPE_SECRET_ARN, ...)
	Resource string // the template's placeholder secret (StripeSecret, ...)
	// Request is one of the function's routes.
	Request func() *http.Request
	// Steps are values put into the secret in turn; each but the last
	// still leaves the function not configured. Secret is a part of a
	// value the logs must never quote.
	Steps []struct{ Value, Secret string }
}

// CheckNotConfigured starts c's function with the placeholder and with each
// step's value in turn (a cold start each): not configured (503, one log
// line naming the secret) until the last value, with which the function
// answers c.Request as anything but 503.
func CheckNotConfigured(t *testing.T, st *stack.Stack, c NotConfiguredCase) {
	t.Helper()
	ctx := context.Background()
	arn := PutSecret(t, st, TemplatePlaceholder(t, c.Resource))
	coldStart := func() (http.Handler, *LogBuffer) {
		t.Helper()
		logs := &LogBuffer{}
		h, err := c.New(ctx, st.ColdstartEnv(c.Function, logs, map[string]string{c.Variable: arn}))
		if err != nil {
			t.Fatalf("cold start: %v", err)
		}
		return h, logs
	}
	h, logs := coldStart()
	ExpectNotConfigured(t, h, c.Request(), logs, arn, "")
	ExpectNotConfigured(t, h, c.Request(), logs, arn, "") // one line per cold start, not per request
	for i, step := range c.Steps {
		SetSecret(t, st, arn, step.Value)
		h, logs = coldStart()
		if i < len(c.Steps)-1 {
			ExpectNotConfigured(t, h, c.Request(), logs, arn, step.Secret)
			continue
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, c.Request())
		if w.Code == http.StatusServiceUnavailable || strings.Contains(logs.String(), "not_configured") {
			t.Fatalf("with the secret set: %d %s\n%s", w.Code, w.Body, logs)
		}
	}
}
