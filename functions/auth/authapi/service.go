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
	cred, err := s.store.Credential(ctx, email)
	if errors.Is(err, identity.ErrNotFound) {
		cred, err = s.createPending(ctx, email, hash)
	}
	if err != nil {
		return err
	}
	if cred.Status == identity.StatusActive {
		s.logger.InfoContext(ctx, "signup for an existing account", "account_id", cred.AccountID)
		return s.send(ctx, alreadyRegisteredMail(email, s.appURL))
	}
	if cred.PasswordHash != hash { // an earlier signup of this address is pending
		err := s.store.ExtendPending(ctx, &identity.Account{ID: cred.AccountID, Email: email}, s.store.Now().Add(PendingTTL), hash)
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return err
		}
	}
	return s.sendVerification(ctx, cred.AccountID, email, hash)
}

// createPending creates a pending account for the address; if a concurrent
// signup claimed the address first, it returns that signup's login record.
func (s *Service) createPending(ctx context.Context, email, passwordHash string) (*identity.Credential, error) {
	now := s.store.Now()
	acct := &identity.Account{ID: ids.New("acct"), Email: email, Status: identity.StatusPending,
		Plan: identity.PlanStandard, CreatedAt: now}
	err := s.store.CreatePending(ctx, acct, passwordHash, now.Add(PendingTTL))
	if errors.Is(err, identity.ErrEmailClaimed) {
		return s.store.Credential(ctx, email)
	}
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "pending account created", "account_id", acct.ID)
	return &identity.Credential{Email: email, AccountID: acct.ID, PasswordHash: passwordHash, Status: identity.StatusPending}, nil
}

func (s *Service) sendVerification(ctx context.Context, accountID, email, passwordHash string) error {
	token, err := s.store.IssueToken(ctx, identity.Token{Kind: identity.TokenVerifyEmail, AccountID: accountID,
		PasswordHash: passwordHash}, VerifyTokenTTL)
	if err != nil {
		return err
	}
	return s.send(ctx, verificationMail(email, s.appURL, token))
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
// address and a wrong password fail alike, after the same hashing work. It
// reads one item (the address's login record) before hashing, and fetches the
// account profile while the hash is being checked.
func (s *Service) Login(ctx context.Context, email, pass string) (*identity.Account, *identity.Session, string, error) {
	cred, err := s.store.Credential(ctx, email)
	if errors.Is(err, identity.ErrNotFound) {
		_, _, _ = s.hasher.Verify(pass, s.dummy)
		s.logger.InfoContext(ctx, "login failed", "reason", "unknown_address")
		return nil, nil, "", ErrInvalidCredentials
	}
	if err != nil {
		return nil, nil, "", err
	}
	type fetched struct {
		acct *identity.Account
		err  error
	}
	profile := make(chan fetched, 1)
	go func() {
		a, err := s.store.Account(ctx, cred.AccountID)
		profile <- fetched{a, err}
	}()
	ok, rehash, err := s.hasher.Verify(pass, cred.PasswordHash)
	got := <-profile
	if err != nil {
		return nil, nil, "", fmt.Errorf("verify password of %s: %w", cred.AccountID, err)
	}
	if !ok {
		s.logger.InfoContext(ctx, "login failed", "account_id", cred.AccountID, "reason", "wrong_password")
		return nil, nil, "", ErrInvalidCredentials
	}
	if cred.Status != identity.StatusActive {
		s.logger.InfoContext(ctx, "login refused", "account_id", cred.AccountID, "reason", "email_not_verified")
		if err := s.sendVerification(ctx, cred.AccountID, email, cred.PasswordHash); err != nil {
			return nil, nil, "", err
		}
		return nil, nil, "", ErrEmailNotVerified
	}
	if got.err != nil {
		return nil, nil, "", got.err
	}
	if rehash {
		s.upgradeHash(ctx, cred, pass)
	}
	sess, tok, err := s.store.CreateSession(ctx, cred.AccountID, s.auth.Policy())
	if err != nil {
		return nil, nil, "", err
	}
	s.logger.InfoContext(ctx, "login succeeded", "account_id", cred.AccountID, "session_id", sess.ID)
	return got.acct, sess, tok, nil
}

// upgradeHash re-hashes a password stored with outdated parameters. It is
// best effort: the login succeeds either way, and the next one tries again.
func (s *Service) upgradeHash(ctx context.Context, cred *identity.Credential, pass string) {
	next, err := s.hasher.Hash(pass)
	if err != nil {
		s.logger.WarnContext(ctx, "re-hash failed", "account_id", cred.AccountID, "error", err)
		return
	}
	swapped, err := s.store.ReplacePasswordHash(ctx, cred.Email, cred.PasswordHash, next)
	if err != nil {
		s.logger.WarnContext(ctx, "re-hash not stored", "account_id", cred.AccountID, "error", err)
		return
	}
	s.logger.InfoContext(ctx, "password re-hashed", "account_id", cred.AccountID, "stored", swapped)
}

// Logout ends the session at once.
func (s *Service) Logout(ctx context.Context, sess *identity.Session) error {
	return s.store.RevokeSession(ctx, sess.AccountID, sess.ID)
}
