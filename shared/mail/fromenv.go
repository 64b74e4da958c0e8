package mail

import (
	"context"
	"fmt"

	"github.com/atrium-cdn/atrium/shared/config"
)

// Settings are the SMTP settings of a function that sends email, read from
// its environment: MAIL_FROM, SMTP_HOST, SMTP_PORT (587 when unset) and
// SMTP_CREDENTIALS_SECRET_ARN (optional: no login without it).
type Settings struct {
	From, Host string
	Port       int
	// CredentialsSecret is the Secrets Manager id of the SMTP login
	// {"username","password"}; empty: no login.
	CredentialsSecret string
}

// ReadSettings reads the settings; errors stay in r, to be reported with the
// function's others.
func ReadSettings(r *config.Reader) Settings {
	return Settings{
		Host:              r.Required("SMTP_HOST"),
		Port:              r.Int("SMTP_PORT", 587, 1, 65535),
		From:              r.Required("MAIL_FROM"),
		CredentialsSecret: r.String("SMTP_CREDENTIALS_SECRET_ARN", ""),
	}
}

// Open returns the SMTP sender the settings describe, reading its login
// (when configured) with readSecret: once, at cold start.
func (s Settings) Open(ctx context.Context, readSecret func(context.Context, string, any) error) (*SMTP, error) {
	smtp := &SMTP{Host: s.Host, Port: s.Port, From: s.From}
	if s.CredentialsSecret != "" {
		smtp.Credentials = &Credentials{}
		if err := readSecret(ctx, s.CredentialsSecret, smtp.Credentials); err != nil {
			return nil, fmt.Errorf("SMTP credentials: %w", err)
		}
	}
	return smtp, nil
}
