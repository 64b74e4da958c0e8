package complianceapi

import (
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// Every configuration error is reported at once, before any secret is read
// (no stack needed: New stops before its first call out).
func TestConfigurationErrorsTogether(t *testing.T) {
	vars := map[string]string{
		"STAGE": coldstart.LocalStage, "STATE_TABLE": "state", "REQUEST_LOG_TABLE": "logs",
		"DMCA_EMAIL": "not an address", "NDA_VERSION": "2026#01", "DMCA_RETENTION": "1h", "RATE_LIMIT_DMCA": "0",
		"SMTP_PORT": "0",
	}
	_, err := New(t.Context(), coldstart.Env{Getenv: func(k string) string { return vars[k] }, Logs: &strings.Builder{}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"ACCOUNT_MANAGER_EMAIL: is required",
		"DMCA_EMAIL: must be an email address",
		"NDA_VERSION: must be",
		"DMCA_RETENTION: must be a duration such as 30m from 720h0m0s to 87600h0m0s",
		"RATE_LIMIT_DMCA: must be a whole number from 1 to 1000",
		"SMTP_HOST: is required", "SMTP_PORT: must be", "MAIL_FROM: is required",
		"CLIENT_KEY_SECRET_ARN: is required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "not an address") {
		t.Error("the error shows a value")
	}
}
