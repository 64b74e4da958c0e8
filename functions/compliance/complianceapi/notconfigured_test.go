package complianceapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// Every compliance request and DMCA notice is delivered by email: with the
// SMTP secret still the template's placeholder, the function answers 503
// not_configured (and accepts no notice it could not deliver) until the
// login is set.
func TestNotConfiguredUntilTheSMTPLoginIsSet(t *testing.T) {
	testenv.CheckNotConfigured(t, testenv.NewStack(t), testenv.NotConfiguredCase{
		Function: "compliance", New: New, Variable: "SMTP_CREDENTIALS_SECRET_ARN", Resource: "SmtpCredentialsSecret",
		Request: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/v1/dmca", strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		},
		Steps: []struct{ Value, Secret string }{
			{`{"username":"atrium-local","password":"local-only-smtp-password"}`, ""},
		},
	})
}
