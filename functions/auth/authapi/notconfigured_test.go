package authapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// signupRequest is a sign-up, the route that cannot work without email.
func signupRequest() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/signup", strings.NewReader(`{"email":"a@example.com","password":"correct horse battery staple"}`))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// A first deployment's SMTP secret holds the template's placeholder: the auth
// function starts, logs one line naming the secret, answers 503
// not_configured, and works at its next cold start once the login is set.
func TestNotConfiguredUntilTheSMTPLoginIsSet(t *testing.T) {
	testenv.CheckNotConfigured(t, testenv.NewStack(t), testenv.NotConfiguredCase{
		Function: "auth", New: New, Variable: "SMTP_CREDENTIALS_SECRET_ARN", Resource: "SmtpCredentialsSecret",
		Request: signupRequest,
		Steps: []struct{ Value, Secret string }{
			{`{"username":"atrium-local","password":"local-only-smtp-password"}`, ""},
		},
	})
}

// An SMTP secret of the wrong shape stops the cold start with a clear error
// naming the secret and the missing field, never the value.
func TestSMTPSecretShapeIsCheckedAtColdStart(t *testing.T) {
	st := testenv.NewStack(t)
	const password = "a-password-only-0123456789"
	arn := testenv.PutSecret(t, st, `{"user":"atrium","password":"`+password+`"}`)
	_, err := New(context.Background(), st.ColdstartEnv("auth", &testenv.LogBuffer{}, map[string]string{"SMTP_CREDENTIALS_SECRET_ARN": arn}))
	if err == nil {
		t.Fatal("a secret without a username started the function")
	}
	for _, want := range []string{arn, `"username" is missing or empty`, `{"username": "...", "password": "..."}`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("error %q quotes the secret's value", err)
	}
}
