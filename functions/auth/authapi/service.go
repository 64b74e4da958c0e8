// Package authapi is the auth function: signup, email verification, login and
// logout. The same handler runs in Lambda (functions/auth) and in the local stack.
package authapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/mail"
	"github.com/atrium-cdn/atrium/shared/password"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{
	"POST /v1/signup",
	"POST /v1/signup/verify",
	"POST /v1/login",
	"POST /v1/logout",
}

// Hasher hashes and verifies passwords; *password.Hasher is the real one.
type Hasher interface {
	Hash(password string) (string, error)
	Verify(password, encoded string) (ok, needsRehash bool, err error)
}

var _ Hasher = (*password.Hasher)(nil)

// Lifetimes of the signup state.
const (
	// VerifyTokenTTL is how long an email verification link works.
	VerifyTokenTTL = 24 * time.Hour
	// PendingTTL is how long an unverified signup holds its address.
	PendingTTL = 7 * 24 * time.Hour
)

// Service carries out the identity flows.
type Service struct {
	store   *identity.Store
	auth    *identity.Authenticator
	hasher  Hasher
	policy  password.Policy
	mail    mail.Sender
	appURL  string
	logger  *slog.Logger
	dummy   string // a hash of a random password, verified for unknown addresses
	maxPass int
}

// Deps are the Service's collaborators.
type Deps struct {
	Store  *identity.Store
	Auth   *identity.Authenticator
	Hasher Hasher
	Policy password.Policy
	Mail   mail.Sender
	AppURL string // the dashboard's base URL, for links in emails
	Logger *slog.Logger
}

// NewService builds the Service. It hashes one random password up front, so
// that a login for an unknown address spends the same hashing work as a
// login with a wrong password.
func NewService(d Deps) (*Service, error) {
	dummy, err := d.Hasher.Hash(ids.Secret())
	if err != nil {
		return nil, fmt.Errorf("hash dummy password: %w", err)
	}
	return &Service{store: d.Store, auth: d.Auth, hasher: d.Hasher, policy: d.Policy, mail: d.Mail,
		appURL: d.AppURL, logger: d.Logger, dummy: dummy, maxPass: d.Policy.MaxBytes}, nil
}

// Signup starts a signup for a valid address and password. Whether or not the
// address has an account, it spends one hash and sends one email, and its
// caller answers the same: nothing tells an onlooker which addresses exist.
func (s *Service) Signup(ctx context.Context, email, pass string) error {
	hash, err := s.hasher.Hash(pass)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	acct, err := s.accountForEmail(ctx, email)
	created := false
	switch {
	case errors.Is(err, identity.ErrNotFound):
		acct, created, err = s.createPending(ctx, email, hash)
		if err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if acct.Status == identity.StatusActive {
		s.logger.InfoContext(ctx, "signup for an existing account", "account_id", acct.ID)
		return s.send(ctx, alreadyRegisteredMail(acct.Email, s.appURL))
	}
	if !created {
		err := s.store.ExtendPending(ctx, acct, s.store.Now().Add(PendingTTL), hash)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return err
		}
	}
	return s.sendVerification(ctx, acct, hash)
}

// createPending creates a pending account for the address; if a concurrent
// signup claimed the address first, it returns that account instead.
func (s *Service) createPending(ctx context.Context, email, passwordHash string) (acct *identity.Account, created bool, err error) {
	now := s.store.Now()
	acct = &identity.Account{ID: ids.New("acct"), Email: email, Status: identity.StatusPending,
		Plan: identity.PlanStandard, PasswordHash: passwordHash, CreatedAt: now}
	err = s.store.CreatePending(ctx, acct, now.Add(PendingTTL))
	if errors.Is(err, identity.ErrEmailClaimed) {
		acct, err = s.accountForEmail(ctx, email)
		return acct, false, err
	}
	if err != nil {
		return nil, false, err
	}
	s.logger.InfoContext(ctx, "pending account created", "account_id", acct.ID)
	return acct, true, nil
}

func (s *Service) accountForEmail(ctx context.Context, email string) (*identity.Account, error) {
	id, err := s.store.AccountIDForEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	return s.store.Account(ctx, id)
}

func (s *Service) sendVerification(ctx context.Context, acct *identity.Account, passwordHash string) error {
	token, err := s.store.IssueToken(ctx, identity.Token{Kind: identity.TokenVerifyEmail, AccountID: acct.ID,
		PasswordHash: passwordHash}, VerifyTokenTTL)
	if err != nil {
		return err
	}
	return s.send(ctx, verificationMail(acct.Email, s.appURL, token))
}

func (s *Service) send(ctx context.Context, m mail.Message) error {
	if err := s.mail.Send(ctx, m); err != nil {
		return fmt.Errorf("send %q email: %w", m.Subject, err)
	}
	return nil
}

// ErrInvalidToken reports an unknown, expired or used verification token.
var ErrInvalidToken = errors.New("invalid token")

// Verify uses a verification token: the account becomes active and a session starts.
func (s *Service) Verify(ctx context.Context, token string) (*identity.Account, *identity.Session, string, error) {
	t, err := s.store.LookupToken(ctx, identity.TokenVerifyEmail, token)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, "", ErrInvalidToken
	}
	if err != nil {
		return nil, nil, "", err
	}
	acct, err := s.store.Activate(ctx, t)
	if errors.Is(err, identity.ErrTokenUsed) || errors.Is(err, identity.ErrNotFound) {
		// Another token verified the account first, or the signup expired: this
		// token can never succeed, so drop it now rather than at its TTL.
		if derr := s.store.DeleteToken(ctx, t); derr != nil {
			s.logger.WarnContext(ctx, "could not delete a dead verification token", "error", derr)
		}
		return nil, nil, "", ErrInvalidToken
	}
	if err != nil {
		return nil, nil, "", err
	}
	s.logger.InfoContext(ctx, "email verified", "account_id", acct.ID)
	sess, tok, err := s.store.CreateSession(ctx, acct.ID, s.auth.Policy())
	if err != nil {
		return nil, nil, "", err
	}
	return acct, sess, tok, nil
}

// Login errors.
var (
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrEmailNotVerified   = errors.New("email not verified")
)

// Login checks an address and password and starts a session. An unknown
// address and a wrong password fail alike, after the same hashing work.
func (s *Service) Login(ctx context.Context, email, pass string) (*identity.Account, *identity.Session, string, error) {
	acct, err := s.accountForEmail(ctx, email)
	if errors.Is(err, identity.ErrNotFound) {
		_, _, _ = s.hasher.Verify(pass, s.dummy)
		s.logger.InfoContext(ctx, "login failed", "reason", "unknown_address")
		return nil, nil, "", ErrInvalidCredentials
	}
	if err != nil {
		return nil, nil, "", err
	}
	ok, rehash, err := s.hasher.Verify(pass, acct.PasswordHash)
	if err != nil {
		return nil, nil, "", fmt.Errorf("verify password of %s: %w", acct.ID, err)
	}
	if !ok {
		s.logger.InfoContext(ctx, "login failed", "account_id", acct.ID, "reason", "wrong_password")
		return nil, nil, "", ErrInvalidCredentials
	}
	if acct.Status != identity.StatusActive {
		s.logger.InfoContext(ctx, "login refused", "account_id", acct.ID, "reason", "email_not_verified")
		if err := s.sendVerification(ctx, acct, acct.PasswordHash); err != nil {
			return nil, nil, "", err
		}
		return nil, nil, "", ErrEmailNotVerified
	}
	if rehash {
		s.upgradeHash(ctx, acct, pass)
	}
	sess, tok, err := s.store.CreateSession(ctx, acct.ID, s.auth.Policy())
	if err != nil {
		return nil, nil, "", err
	}
	s.logger.InfoContext(ctx, "login succeeded", "account_id", acct.ID, "session_id", sess.ID)
	return acct, sess, tok, nil
}

// upgradeHash re-hashes a password stored with outdated parameters. It is
// best effort: the login succeeds either way, and the next one tries again.
func (s *Service) upgradeHash(ctx context.Context, acct *identity.Account, pass string) {
	next, err := s.hasher.Hash(pass)
	if err != nil {
		s.logger.WarnContext(ctx, "re-hash failed", "account_id", acct.ID, "error", err)
		return
	}
	swapped, err := s.store.ReplacePasswordHash(ctx, acct.ID, acct.PasswordHash, next)
	if err != nil {
		s.logger.WarnContext(ctx, "re-hash not stored", "account_id", acct.ID, "error", err)
		return
	}
	s.logger.InfoContext(ctx, "password re-hashed", "account_id", acct.ID, "stored", swapped)
}

// Logout ends the session at once.
func (s *Service) Logout(ctx context.Context, sess *identity.Session) error {
	return s.store.RevokeSession(ctx, sess.AccountID, sess.ID)
}
