// Package authapi is the auth function: signup, email verification, login,
// logout, password reset and change, and the person's own sessions, with
// brute-force protection on every way in. The same handler runs in Lambda
// (functions/auth) and in the local stack.
package authapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/mail"
	"github.com/atrium-cdn/atrium/shared/password"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{
	"POST /v1/signup",
	"POST /v1/signup/verify",
	"POST /v1/login",
	"POST /v1/logout",
	"POST /v1/password/forgot",
	"POST /v1/password/reset",
	"POST /v1/password/change",
	"GET /v1/sessions",
	"DELETE /v1/sessions",
	"DELETE /v1/sessions/{id}",
	"DELETE /v1/account",
}

// Hasher hashes and verifies passwords; *password.Hasher is the real one.
type Hasher interface {
	Hash(password string) (string, error)
	Verify(password, encoded string) (ok, needsRehash bool, err error)
	DecoyHash() (string, error)
}

var _ Hasher = (*password.Hasher)(nil)

// Lifetimes of the signup state.
const (
	// VerifyTokenTTL is how long an email verification link works.
	VerifyTokenTTL = 24 * time.Hour
	// PendingTTL is how long an unverified signup holds its address.
	PendingTTL = 7 * 24 * time.Hour
	// ResetTokenTTL is how long a password reset link works.
	ResetTokenTTL = time.Hour
)

// BreachChecker tells whether a password appears in known breaches
// (*breached.Checker); optional.
type BreachChecker interface {
	Breached(ctx context.Context, password string) (bool, error)
}

// Service carries out the identity flows.
type Service struct {
	store   *identity.Store
	auth    *identity.Authenticator
	hasher  Hasher
	policy  password.Policy
	mail    mail.Sender
	appURL  string
	logger  *slog.Logger
	dummy   string // a decoy hash, verified for unknown addresses
	maxPass int

	throttle *throttle.Store
	keyer    *pseudonym.Keyer
	limits   Limits
	breached BreachChecker
	// forgotFloor is the least time a forgot-password answer takes, so that
	// sending the email (only for a registered address) is not seen in the
	// response time; pause waits until a moment (time.Sleep in production).
	forgotFloor time.Duration
	pause       func(ctx context.Context, until time.Time)
	deletions   *deletion.Store
}

// Limits are the per-client rate limits of each way in.
type Limits struct {
	Login, Signup, Verify, Password throttle.Limit
}

// DefaultLimits allow a person plenty, and a script little.
func DefaultLimits() Limits {
	return Limits{
		Login:    throttle.Limit{Max: 20, Window: time.Minute},
		Signup:   throttle.Limit{Max: 10, Window: time.Minute},
		Verify:   throttle.Limit{Max: 20, Window: time.Minute},
		Password: throttle.Limit{Max: 10, Window: time.Minute},
	}
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

	Throttle *throttle.Store
	Keyer    *pseudonym.Keyer // pseudonyms of email and client addresses
	Limits   Limits
	Breached BreachChecker // nil: no breached-password check
	// ForgotFloor is the least time a forgot-password answer takes
	// (DefaultForgotFloor when zero; negative: none).
	ForgotFloor time.Duration
	// Pause waits until a moment or the context's end; nil: a real timer.
	Pause func(ctx context.Context, until time.Time)
	// Deletions accepts account deletions (DELETE /v1/account).
	Deletions *deletion.Store
}

// DefaultForgotFloor comfortably exceeds an SMTP round trip to Amazon SES.
const DefaultForgotFloor = time.Second

func sleepUntil(ctx context.Context, until time.Time) {
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// NewService builds the Service. It keeps a decoy hash at the configured
// parameters, so that a login for an unknown address spends the same hashing
// work as a login with a wrong password.
func NewService(d Deps) (*Service, error) {
	dummy, err := d.Hasher.DecoyHash()
	if err != nil {
		return nil, fmt.Errorf("make decoy hash: %w", err)
	}
	svc := &Service{store: d.Store, auth: d.Auth, hasher: d.Hasher, policy: d.Policy, mail: d.Mail,
		appURL: d.AppURL, logger: d.Logger, dummy: dummy, maxPass: d.Policy.MaxBytes,
		throttle: d.Throttle, keyer: d.Keyer, limits: d.Limits, breached: d.Breached,
		forgotFloor: cmp.Or(d.ForgotFloor, DefaultForgotFloor), pause: d.Pause, deletions: d.Deletions}
	if svc.pause == nil {
		svc.pause = sleepUntil
	}
	return svc, nil
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
		s.event(ctx, "signup", "success", "existing_account", cred.AccountID)
		return s.send(ctx, alreadyRegisteredMail(email, s.appURL))
	}
	if cred.Status == identity.StatusDeleting {
		// The deletion's confirmation is the last email the address gets from
		// this account; it can sign up again once the deletion is done.
		s.event(ctx, "signup", "refused", "account_being_deleted", cred.AccountID)
		return nil
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
	s.event(ctx, "signup", "success", "new_account", acct.ID)
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
		s.event(ctx, "email_verification", "failure", "invalid_token", "")
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
	s.event(ctx, "email_verification", "success", "", acct.ID)
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
	ErrLocked             = errors.New("password logins locked after too many failures")
)

// DelayedError says a login must wait after consecutive failures.
type DelayedError struct{ RetryAfter time.Duration }

func (e *DelayedError) Error() string { return fmt.Sprintf("login delayed for %s", e.RetryAfter) }

// Login checks an address and password from a client (a pseudonym of its
// address) and starts a session. An unknown address and a wrong password
// fail alike, after the same hashing work, and count alike towards the
// address's delays and lock.
//
// To keep a login close to the cost of its one password hash, the work that
// does not depend on the hash runs beside it: the client's request is
// counted while the address's login record and failure counter are read and
// the hash is checked, and the profile is fetched during the hash. A client
// over its limit learns nothing from the hash it caused: it is answered 429
// whatever the password, and nothing is counted or started.
func (s *Service) Login(ctx context.Context, client, email, pass string) (*identity.Account, *identity.Session, string, error) {
	type allowed struct {
		retry time.Duration
		err   error
	}
	rate := make(chan allowed, 1)
	go func() {
		retry, err := s.throttle.Allow(ctx, "login", client, s.limits.Login)
		rate <- allowed{retry, err}
	}()
	decide, err := s.login(ctx, email, pass)
	if r := <-rate; r.err != nil {
		return nil, nil, "", r.err
	} else if r.retry > 0 {
		s.event(ctx, "login", "refused", "rate_limited", "")
		return nil, nil, "", &RateLimitedError{RetryAfter: r.retry}
	}
	if err != nil {
		return nil, nil, "", err
	}
	return decide()
}

// loginResult finishes a login once the client is known to be within its
// limit: it records what the attempt did (a failure, a session).
type loginResult func() (*identity.Account, *identity.Session, string, error)

// login does a login's reads and its hash check. What it must then write is
// returned as decide, to run only if the client is within its limit; an
// attempt refused before the hash (locked, delayed) returns an error.
func (s *Service) login(ctx context.Context, email, pass string) (decide loginResult, err error) {
	subject := s.keyer.Of("email", email)
	var (
		cred          *identity.Credential
		fails         throttle.Failures
		credErr, fErr error
		wg            sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		fails, fErr = s.throttle.LoginFailures(ctx, subject)
	}()
	cred, credErr = s.store.Credential(ctx, email)
	wg.Wait()
	if fErr != nil {
		return nil, fErr
	}
	if credErr == nil && cred.Status == identity.StatusDeleting {
		// An account being deleted cannot log in: answered as an unknown address.
		cred, credErr = nil, identity.ErrNotFound
	}
	accountID := ""
	if credErr == nil {
		accountID = cred.AccountID
	}
	if w := fails.Check(s.throttle.Policy(), s.store.Now()); w.Locked {
		s.event(ctx, "login", "refused", "locked", accountID)
		return nil, ErrLocked
	} else if w.RetryAfter > 0 {
		s.event(ctx, "login", "refused", "delayed", accountID)
		return nil, &DelayedError{RetryAfter: w.RetryAfter}
	}
	if errors.Is(credErr, identity.ErrNotFound) {
		_, _, _ = s.hasher.Verify(pass, s.dummy)
		return func() (*identity.Account, *identity.Session, string, error) {
			return nil, nil, "", s.loginFailed(ctx, subject, nil, "unknown_address")
		}, nil
	}
	if credErr != nil {
		return nil, credErr
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
		return nil, fmt.Errorf("verify password of %s: %w", cred.AccountID, err)
	}
	return func() (*identity.Account, *identity.Session, string, error) {
		if !ok {
			return nil, nil, "", s.loginFailed(ctx, subject, cred, "wrong_password")
		}
		return s.loginSucceeded(ctx, email, pass, subject, cred, fails, rehash, got.acct, got.err)
	}, nil
}

// loginSucceeded clears the failures, refuses an unverified address (with a
// fresh link), upgrades an outdated hash, starts the session and sends a
// sign-in notice when one is due.
func (s *Service) loginSucceeded(ctx context.Context, email, pass, subject string, cred *identity.Credential,
	fails throttle.Failures, rehash bool, acct *identity.Account, acctErr error) (*identity.Account, *identity.Session, string, error) {
	if fails.Count > 0 {
		if err := s.throttle.ClearFailures(ctx, subject); err != nil {
			return nil, nil, "", err
		}
	}
	if cred.Status != identity.StatusActive {
		s.event(ctx, "login", "refused", "email_not_verified", cred.AccountID)
		if err := s.sendVerification(ctx, cred.AccountID, email, cred.PasswordHash); err != nil {
			return nil, nil, "", err
		}
		return nil, nil, "", ErrEmailNotVerified
	}
	if acctErr != nil {
		return nil, nil, "", acctErr
	}
	if rehash {
		s.upgradeHash(ctx, cred, pass)
	}
	sess, tok, err := s.store.CreateSession(ctx, cred.AccountID, s.auth.Policy())
	if err != nil {
		return nil, nil, "", err
	}
	s.event(ctx, "login", "success", "", cred.AccountID, "session_id", sess.ID)
	switch {
	case fails.Delayed(s.throttle.Policy()):
		// Someone failed many times before this login: tell the owner.
		s.signInNotice(ctx, cred, signInAfterFailuresMail(email, s.appURL, fails.Count))
	case cred.NotifyNextLogin:
		// The first login since a reset ended a lockout.
		s.signInNotice(ctx, cred, signInAfterLockoutMail(email, s.appURL))
	}
	return acct, sess, tok, nil
}

// signInNotice sends a "new sign-in" email (best effort: the login stands)
// and clears a pending request for one.
func (s *Service) signInNotice(ctx context.Context, cred *identity.Credential, m mail.Message) {
	if err := s.send(ctx, m); err != nil {
		s.logger.WarnContext(ctx, "could not send the sign-in notice", "account_id", cred.AccountID, "error", err)
		return
	}
	if cred.NotifyNextLogin {
		if err := s.store.ClearLoginNotice(ctx, cred.Email); err != nil {
			s.logger.WarnContext(ctx, "could not clear the sign-in notice", "account_id", cred.AccountID, "error", err)
		}
	}
}

// loginFailed counts a failed password check for the address; on the
// failure that locks a real account, the owner is told by email.
func (s *Service) loginFailed(ctx context.Context, subject string, cred *identity.Credential, reason string) error {
	accountID := ""
	if cred != nil {
		accountID = cred.AccountID
	}
	f, err := s.throttle.RecordFailure(ctx, subject)
	if err != nil {
		return err
	}
	s.event(ctx, "login", "failure", reason, accountID, "consecutive_failures", f.Count)
	if f.Count == s.throttle.Policy().LockAfter && cred != nil && cred.Status == identity.StatusActive {
		s.event(ctx, "account_locked", "locked", "too_many_failures", accountID)
		if err := s.send(ctx, lockedMail(cred.Email, s.appURL)); err != nil {
			return err
		}
	}
	return ErrInvalidCredentials
}

// event writes one structured security event (ASVS 16.3.1): what happened,
// how it ended and why, and the account when one is known — never an
// address, password or token.
func (s *Service) event(ctx context.Context, name, outcome, reason, accountID string, extra ...any) {
	args := append([]any{"event", name, "outcome", outcome}, extra...)
	if reason != "" {
		args = append(args, "reason", reason)
	}
	if accountID != "" {
		args = append(args, "account_id", accountID)
	}
	s.logger.InfoContext(ctx, "security_event", args...)
}

// upgradeHash re-hashes a password stored with outdated parameters. It is
// best effort: the login succeeds either way, and the next one tries again.
func (s *Service) upgradeHash(ctx context.Context, cred *identity.Credential, pass string) {
	next, err := s.hasher.Hash(pass)
	if err != nil {
		s.logger.WarnContext(ctx, "re-hash failed", "account_id", cred.AccountID, "error", err)
		return
	}
	swapped, err := s.store.ReplacePasswordHash(ctx, cred.Email, cred.PasswordHash, next, false)
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
