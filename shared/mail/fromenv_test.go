package mail_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/config"
	"github.com/atrium-cdn/atrium/shared/mail"
)

func TestReadSettingsAndOpen(t *testing.T) {
	vars := map[string]string{"MAIL_FROM": "noreply@atrium.example", "SMTP_HOST": "email-smtp.eu-west-1.amazonaws.com",
		"SMTP_CREDENTIALS_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp"}
	r := config.New(func(k string) string { return vars[k] })
	s := mail.ReadSettings(r)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	want := mail.Settings{From: "noreply@atrium.example", Host: "email-smtp.eu-west-1.amazonaws.com", Port: 587,
		CredentialsSecret: vars["SMTP_CREDENTIALS_SECRET_ARN"]}
	if s != want {
		t.Fatalf("settings %+v, want %+v", s, want)
	}
	var asked []string
	read := func(_ context.Context, id string, dst any) error {
		asked = append(asked, id)
		*dst.(*mail.Credentials) = mail.Credentials{Username: "AKIAEXAMPLE", Password: "made-up"}
		return nil
	}
	smtp, err := s.Open(context.Background(), read)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(asked, []string{want.CredentialsSecret}) || smtp.Credentials == nil ||
		smtp.Credentials.Username != "AKIAEXAMPLE" || smtp.Host != want.Host || smtp.Port != 587 || smtp.From != want.From {
		t.Errorf("sender %+v after reading %v", smtp, asked)
	}
}

func TestOpenWithoutLoginReadsNoSecret(t *testing.T) {
	s := mail.Settings{From: "a@example.com", Host: "127.0.0.1", Port: 1025}
	smtp, err := s.Open(context.Background(), func(context.Context, string, any) error {
		t.Error("a secret was read")
		return nil
	})
	if err != nil || smtp.Credentials != nil {
		t.Fatalf("%+v, %v", smtp, err)
	}
}

func TestSettingsErrors(t *testing.T) {
	r := config.New(func(k string) string { return map[string]string{"SMTP_PORT": "70000"}[k] })
	mail.ReadSettings(r)
	err := r.Err()
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"SMTP_HOST: is required", "MAIL_FROM: is required", "SMTP_PORT: must be"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%q does not say %q", err, name)
		}
	}
	fail := errors.New("access denied")
	_, err = mail.Settings{Host: "h", From: "a@example.com", Port: 25, CredentialsSecret: "arn"}.Open(context.Background(),
		func(context.Context, string, any) error { return fail })
	if !errors.Is(err, fail) {
		t.Errorf("Open: %v", err)
	}
}

// The SMTP secret's shape is checked at cold start with a clear error that
// names the secret and what is wrong, never the value; a placeholder is "not
// configured" with what to put there.
func TestOpenChecksTheSecretsShape(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:atrium/smtp-AbC123"
	s := mail.Settings{From: "noreply@atrium.example", Host: "smtp.example", Port: 587, CredentialsSecret: arn}
	for _, tc := range []struct {
		creds mail.Credentials
		want  string
	}{
		{mail.Credentials{Username: "", Password: "pw-0123456789"}, `"username" is missing or empty`},
		{mail.Credentials{Username: "AKIAEXAMPLE", Password: " "}, `"password" is missing or empty`},
		{mail.Credentials{Username: "AKIA\r\nEXAMPLE", Password: "pw-0123456789"}, `"username" holds a line break`},
	} {
		_, err := s.Open(context.Background(), func(_ context.Context, _ string, dst any) error {
			*dst.(*mail.Credentials) = tc.creds
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), arn) {
			t.Errorf("%+v: %v, want an error naming %s and saying %s", tc.creds, err, arn, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw-0123456789") {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
	_, err := s.Open(context.Background(), func(_ context.Context, id string, _ any) error {
		return &config.NotConfiguredError{Secret: id, Need: "generic"}
	})
	if nc, ok := config.AsNotConfigured(err); !ok || nc.Secret != arn || nc.Need != mail.NeedCredentials {
		t.Errorf("placeholder: %v, want not configured with mail.NeedCredentials", err)
	}
	if _, err := s.Open(context.Background(), func(_ context.Context, _ string, dst any) error {
		*dst.(*mail.Credentials) = mail.Credentials{Username: "AKIAEXAMPLE", Password: "pw-0123456789"}
		return nil
	}); err != nil {
		t.Errorf("a good login: %v", err)
	}
}
