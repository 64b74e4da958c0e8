package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
			if nc, ok := config.AsNotConfigured(err); ok {
				nc.Need = NeedCredentials
				return nil, nc
			}
			return nil, fmt.Errorf("SMTP credentials: %w", err)
		}
		if err := smtp.Credentials.Check(); err != nil {
			return nil, fmt.Errorf("SMTP credentials (secret %s): %w", s.CredentialsSecret, err)
		}
	}
	return smtp, nil
}

// NeedCredentials is what the SMTP credentials secret must hold.
const NeedCredentials = `the JSON {"username": "...", "password": "..."} of the SMTP login ` +
	`(for SES: the SMTP credentials of an IAM user, not its access key), in place of the stack's placeholder (README.md, Deploying)`

// Check reports what is wrong with the login's shape, without repeating any
// of it: both fields are required, and neither may hold a line break (which
// would end the SMTP AUTH command early).
func (c *Credentials) Check() error {
	var problems []string
	for _, f := range []struct{ name, v string }{{"username", c.Username}, {"password", c.Password}} {
		switch {
		case strings.TrimSpace(f.v) == "":
			problems = append(problems, fmt.Sprintf(`"%s" is missing or empty`, f.name))
		case strings.ContainsAny(f.v, "\r\n"):
			problems = append(problems, fmt.Sprintf(`"%s" holds a line break`, f.name))
		case len(f.v) > 512:
			problems = append(problems, fmt.Sprintf(`"%s" is longer than 512 bytes`, f.name))
		}
	}
	if len(problems) > 0 {
		return errors.New(`want {"username": "...", "password": "..."}: ` + strings.Join(problems, "; "))
	}
	return nil
}
