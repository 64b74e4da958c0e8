package authapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/emailaddr"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mail"
	"github.com/atrium-cdn/atrium/shared/password"
	"github.com/atrium-cdn/atrium/shared/web"
)

// New builds the auth function from its environment: the composition root
// shared by the Lambda entry point and the local stack.
func New(ctx context.Context, env coldstart.Env) (http.Handler, error) {
	b, err := coldstart.Load(ctx, "auth", env)
	if err != nil {
		return nil, err
	}
	r := b.Config
	params := password.Params{
		MemoryKiB: uint32(r.Int("ARGON2_MEMORY_KIB", int(password.Default.MemoryKiB), int(password.Floor.MemoryKiB), int(password.Ceiling.MemoryKiB))),
		Time:      uint32(r.Int("ARGON2_TIME", int(password.Default.Time), int(password.Floor.Time), int(password.Ceiling.Time))),
		Threads:   uint8(r.Int("ARGON2_THREADS", int(password.Default.Threads), int(password.Floor.Threads), int(password.Ceiling.Threads))),
		SaltLen:   password.Default.SaltLen,
		KeyLen:    password.Default.KeyLen,
	}
	policy := password.DefaultPolicy()
	policy.MinLength = r.Int("PASSWORD_MIN_LENGTH", policy.MinLength, 8, 64)
	appURL := r.URL("APP_BASE_URL", "")
	if appURL == "" {
		r.Required("APP_BASE_URL")
	}
	smtp := &mail.SMTP{
		Host: r.Required("SMTP_HOST"),
		Port: r.Int("SMTP_PORT", 587, 1, 65535),
		From: r.Required("MAIL_FROM"),
	}
	credsSecret := r.String("SMTP_CREDENTIALS_SECRET_ARN", "")
	if err := b.Finish(); err != nil {
		return nil, err
	}
	if credsSecret != "" {
		smtp.Credentials = &mail.Credentials{}
		if err := b.SecretJSON(ctx, credsSecret, smtp.Credentials); err != nil {
			return nil, fmt.Errorf("SMTP credentials: %w", err)
		}
	}
	hasher, err := password.NewHasher(params)
	if err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	svc, err := NewService(Deps{Store: b.Identity, Auth: b.Auth, Hasher: hasher, Policy: policy,
		Mail: smtp, AppURL: appURL, Logger: b.Logger})
	if err != nil {
		return nil, err
	}
	return b.Serve(svc.Handler(b.Auth)), nil
}

// Handler routes the auth function's requests.
func (s *Service) Handler(auth *identity.Authenticator) http.Handler {
	rt := web.NewRouter(s.logger)
	rt.Handle("POST /v1/signup", s.handleSignup)
	rt.Handle("POST /v1/signup/verify", s.handleVerify)
	rt.Handle("POST /v1/login", s.handleLogin)
	rt.Handle("POST /v1/logout", auth.Require(s.handleLogout))
	return rt
}

// CredentialsRequest is the body of signup and login.
type CredentialsRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// TokenRequest is the body of signup verification.
type TokenRequest struct {
	Token string `json:"token"`
}

// SessionView is a newly started session as the API shows it: the only time
// its token is ever shown.
type SessionView struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

type sessionResponse struct {
	Account identity.AccountView `json:"account"`
	Session SessionView          `json:"session"`
}

// decodeCredentials validates a signup or login body. With policy set, the
// password must also meet the password policy (signup); without, it need only
// be present and bounded (login: old passwords may predate the policy).
func (s *Service) decodeCredentials(r *http.Request, policy bool) (email, pass string, err error) {
	var req CredentialsRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return "", "", err
	}
	var fields []web.FieldError
	email, err = emailaddr.Normalize(req.Email)
	if err != nil {
		fields = append(fields, web.FieldError{Field: "email", Code: "invalid_email",
			Detail: fmt.Sprintf("must be an email address of at most %d characters", emailaddr.MaxLength)})
	}
	switch {
	case req.Password == "":
		fields = append(fields, web.FieldError{Field: "password", Code: "required", Detail: "is required"})
	case len(req.Password) > s.maxPass || !utf8.ValidString(req.Password):
		fields = append(fields, web.FieldError{Field: "password", Code: "password_invalid",
			Detail: fmt.Sprintf("must be valid text of at most %d bytes", s.maxPass)})
	case policy && email != "":
		var pe *password.PolicyError
		if err := s.policy.Check(req.Password, email); errors.As(err, &pe) {
			fields = append(fields, web.FieldError{Field: "password", Code: pe.Code, Detail: pe.Message})
		} else if err != nil {
			return "", "", fmt.Errorf("check password policy: %w", err)
		}
	}
	if len(fields) > 0 {
		return "", "", web.Invalid(fields...)
	}
	return email, req.Password, nil
}

func (s *Service) handleSignup(w http.ResponseWriter, r *http.Request) error {
	email, pass, err := s.decodeCredentials(r, true)
	if err != nil {
		return err
	}
	if err := s.Signup(r.Context(), email, pass); err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusAccepted, map[string]string{"status": "verification_sent"})
	return nil
}

func (s *Service) handleVerify(w http.ResponseWriter, r *http.Request) error {
	var req TokenRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Token == "" || len(req.Token) > identity.MaxTokenLength {
		return web.Invalid(web.FieldError{Field: "token", Code: "invalid_token",
			Detail: fmt.Sprintf("must be the token from the email, at most %d characters", identity.MaxTokenLength)})
	}
	acct, sess, token, err := s.Verify(r.Context(), req.Token)
	if errors.Is(err, ErrInvalidToken) {
		return web.Errorf(http.StatusBadRequest, "invalid_token",
			"This verification link is unknown, expired or already used. Sign up again for a new one, or log in.")
	}
	if err != nil {
		return err
	}
	return writeSession(w, http.StatusCreated, acct, sess, token)
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) error {
	email, pass, err := s.decodeCredentials(r, false)
	if err != nil {
		return err
	}
	acct, sess, token, err := s.Login(r.Context(), email, pass)
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		return web.Errorf(http.StatusUnauthorized, "invalid_credentials", "The email address or password is wrong.")
	case errors.Is(err, ErrEmailNotVerified):
		return web.Errorf(http.StatusForbidden, "email_not_verified",
			"Confirm your email address first: we have sent you a new link.")
	case err != nil:
		return err
	}
	return writeSession(w, http.StatusOK, acct, sess, token)
}

func writeSession(w http.ResponseWriter, status int, acct *identity.Account, sess *identity.Session, token string) error {
	identity.SetSessionCookie(w, token, time.Unix(sess.EndsAt, 0))
	web.WriteJSON(w, status, sessionResponse{Account: identity.ViewAccount(acct),
		Session: SessionView{Token: token, ExpiresAt: sess.ExpiresAt()}})
	return nil
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := s.Logout(r.Context(), identity.SessionFrom(r.Context())); err != nil {
		return err
	}
	identity.ClearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
