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
	"time"

	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/mail"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/passkeys/ceremony"
	"github.com/atrium-cdn/atrium/shared/password"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/statetable"
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
	"POST /v1/passkeys/registration/options",
	"POST /v1/passkeys",
	"GET /v1/passkeys",
	"PATCH /v1/passkeys/{id}",
	"DELETE /v1/passkeys/{id}",
	"POST /v1/login/passkey/options",
	"POST /v1/login/passkey",
	"POST /v1/login/mfa/passkey/options",
	"POST /v1/session/step-up/passkey/options",
	"POST /v1/login/mfa",
	"POST /v1/session/step-up",
	"GET /v1/mfa",
	"POST /v1/mfa/totp",
	"POST /v1/mfa/totp/{id}/confirm",
	"DELETE /v1/mfa/factors/{id}",
	"POST /v1/mfa/recovery-codes",
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
	store  *identity.Store
	auth   *identity.Authenticator
	hasher Hasher
	policy password.Policy
	mail   mail.Sender
	appURL string
	logger *slog.Logger
	dummy  string // a decoy hash, verified for unknown addresses
	// decoyAccount is an account id no account has, whose reads an unknown
	// address's login makes (see checkPassword).
	decoyAccount string
	maxPass      int

	throttle *throttle.Store
	keyer    *pseudonym.Keyer
	limits   Limits
	breached BreachChecker
	// answerFloor is the least time a signup, a forgot-password request and
	// a login failure that locks take, so that work done only for some
	// addresses (an account's writes, an email) is not seen in the response
	// time; pause waits until a moment (time.Sleep in production).
	answerFloor time.Duration
	pause       func(ctx context.Context, until time.Time)
	deletions   *deletion.Store
	passkeySvc  *ceremony.Service

	// Second factors (mfa.go): nil mfa means none can be enrolled.
	mfa         *mfa.Store
	mfaThrottle *throttle.Store
	stepUp      *mfa.StepUp
	passkeys    PasskeyFactor
}

// Limits are the per-client rate limits of each way in.
type Limits struct {
	Login, Signup, Verify, Password throttle.Limit
	// Mail caps each kind of email a stranger can cause, per recipient
	// address (counted under its pseudonym).
	Mail throttle.Limit
}

// DefaultLimits allow a person plenty, and a script little.
func DefaultLimits() Limits {
	return Limits{
		Login:    throttle.Limit{Max: 20, Window: time.Minute},
		Signup:   throttle.Limit{Max: 10, Window: time.Minute},
		Verify:   throttle.Limit{Max: 20, Window: time.Minute},
		Password: throttle.Limit{Max: 10, Window: time.Minute},
		Mail:     throttle.Limit{Max: 5, Window: throttle.MailWindow},
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
	// AnswerFloor is the least time a signup, a forgot-password answer and
	// a locking login failure take (DefaultAnswerFloor when zero; negative:
	// none).
	AnswerFloor time.Duration
	// Pause waits until a moment or the context's end; nil: a real timer.
	Pause func(ctx context.Context, until time.Time)
	// Deletions accepts account deletions (DELETE /v1/account).
	Deletions *deletion.Store
	// Passkeys registers passkeys and verifies them (the /v1/passkeys and
	// /v1/login/passkey routes).
	Passkeys *ceremony.Service
	// MFA holds the second factors' collaborators.
	MFA MFADeps
}

// DefaultAnswerFloor comfortably exceeds a signup's writes and an SMTP round
// trip to Amazon SES.
const DefaultAnswerFloor = time.Second

// mailDeadline is the context key of the moment by which an email a
// stranger caused must be sent (see mailBy).
type mailDeadline struct{}

// mailMargin is how long before the answer floor a stranger-caused email
// should have been sent, leaving time to answer at the floor; mailLeast is
// the least time a send is given all the same, so that a request slowed by
// load (its work already past the floor) still sends its email.
const (
	mailMargin = 100 * time.Millisecond
	mailLeast  = time.Second
)

// mailBy bounds the emails of a request answered at the floor after start:
// a send still running shortly before the floor, or mailLeast after it
// began if that is later, is abandoned (and logged). So a slow or stalled
// mail server delays an answer for a real account by at most mailLeast
// beyond one for an unknown address, instead of by the SMTP timeout, and a
// busy function does not drop its emails.
func (s *Service) mailBy(ctx context.Context, start time.Time) context.Context {
	if s.answerFloor <= 0 {
		return ctx
	}
	return context.WithValue(ctx, mailDeadline{}, start.Add(s.answerFloor-mailMargin))
}

// waitFloor waits until the answer floor has passed since start.
func (s *Service) waitFloor(ctx context.Context, start time.Time) {
	if s.answerFloor > 0 {
		s.pause(ctx, start.Add(s.answerFloor))
	}
}

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
		appURL: d.AppURL, logger: d.Logger, dummy: dummy, decoyAccount: ids.New("acct"), maxPass: d.Policy.MaxBytes,
		throttle: d.Throttle, keyer: d.Keyer, limits: d.Limits, breached: d.Breached,
		answerFloor: cmp.Or(d.AnswerFloor, DefaultAnswerFloor), pause: d.Pause, deletions: d.Deletions,
		mfa: d.MFA.Store, mfaThrottle: d.MFA.Throttle, passkeys: d.MFA.Passkeys, passkeySvc: d.Passkeys}
	if svc.passkeySvc == nil {
		return nil, errors.New("authapi: no passkeys service (Deps.Passkeys)")
	}
	if svc.passkeys == nil {
		// The passkeys are the account's "passkey" second factor too.
		svc.passkeys = passkeyFactor{svc.passkeySvc}
	}
	if svc.mfa == nil {
		return nil, errors.New("authapi: no second-factor store (Deps.MFA.Store)")
	}
	if svc.mfaThrottle == nil {
		return nil, errors.New("authapi: no second-factor brake (Deps.MFA.Throttle)")
	}
	svc.stepUp = mfa.NewStepUp(svc.mfa, d.MFA.StepUpWindow, svc.otherFactors()...)
	if svc.pause == nil {
		svc.pause = sleepUntil
	}
	// A limit left unset takes its default (a zero window would count nothing).
	def := DefaultLimits()
	for _, l := range []struct{ set, def *throttle.Limit }{{&svc.limits.Login, &def.Login}, {&svc.limits.Signup, &def.Signup},
		{&svc.limits.Verify, &def.Verify}, {&svc.limits.Password, &def.Password}, {&svc.limits.Mail, &def.Mail}} {
		if l.set.Max <= 0 || l.set.Window <= 0 {
			*l.set = *l.def
		}
	}
	return svc, nil
}

// Signup starts a signup for a valid address. Whether or not the address
// has an account, it counts one email against the address's cap and sends it
// unless capped, and its caller answers the same after the same floor:
// nothing tells an onlooker which addresses exist.
//
// No password is chosen here: whoever opens one of the address's
// verification links chooses it (Verify). So a signup of someone else's
// address, before or after its owner's, only ever sends its owner a link
// they can use themselves, and every link works alike.
func (s *Service) Signup(ctx context.Context, email string) error {
	cred, err := s.store.Credential(ctx, email)
	created := false
	if errors.Is(err, identity.ErrNotFound) {
		cred, created, err = s.createPending(ctx, email)
	}
	if err != nil {
		return err
	}
	switch cred.Status {
	case identity.StatusActive:
		s.event(ctx, "signup", "success", "existing_account", cred.AccountID)
		s.sendCapped(ctx, email, throttle.MailAlreadyRegistered, alreadyRegisteredMail(email, s.appURL))
		return nil
	case identity.StatusDeleting:
		// The deletion's confirmation is the last email the address gets from
		// this account; it can sign up again once the deletion is done.
		s.event(ctx, "signup", "refused", "account_being_deleted", cred.AccountID)
		return nil
	}
	if !created { // a repeated signup gives the full time to verify again
		err = s.store.ExtendPending(ctx, &identity.Account{ID: cred.AccountID, Email: email}, s.store.Now().Add(PendingTTL))
		if err != nil && !errors.Is(err, identity.ErrNotFound) {
			return err
		}
	}
	token, err := s.store.IssueToken(ctx, identity.Token{Kind: identity.TokenVerifyEmail, AccountID: cred.AccountID}, VerifyTokenTTL)
	if errors.Is(err, identity.ErrNotFound) {
		return nil // the pending signup expired and was removed, or its deletion began, meanwhile
	}
	if err != nil {
		return err
	}
	s.sendCapped(ctx, email, throttle.MailVerification, verificationMail(email, s.appURL, token))
	return nil
}

// createPending creates a pending account for the address (created); if a
// concurrent signup claimed the address first, it returns that signup's
// login record.
func (s *Service) createPending(ctx context.Context, email string) (cred *identity.Credential, created bool, err error) {
	now := s.store.Now()
	acct := &identity.Account{ID: ids.New("acct"), Email: email, Status: identity.StatusPending,
		CreatedAt: now}
	err = s.store.CreatePending(ctx, acct, now.Add(PendingTTL), plans.Initial())
	if errors.Is(err, identity.ErrEmailClaimed) {
		cred, err = s.store.Credential(ctx, email)
		return cred, false, err
	}
	if err != nil {
		return nil, false, err
	}
	s.event(ctx, "signup", "success", "new_account", acct.ID)
	return &identity.Credential{Email: email, AccountID: acct.ID, Status: identity.StatusPending}, true, nil
}

func (s *Service) send(ctx context.Context, m mail.Message) error {
	if err := s.mail.Send(ctx, m); err != nil {
		return fmt.Errorf("send %q email: %w", m.Subject, err)
	}
	return nil
}

// sendCapped sends an email that a stranger can cause (a signup, a reset
// request, a lock), at most the per-address cap of its kind in a window,
// counted under the address's pseudonym. The count is taken whether or not
// the address has an account, and neither the cap nor a failure to send
// changes what the requester sees: both are only logged.
func (s *Service) sendCapped(ctx context.Context, email, kind string, m mail.Message) {
	sent, err := s.throttle.Take(ctx, kind, s.keyer.Of(pseudonym.EmailDomain, email), s.limits.Mail)
	if err != nil {
		s.logger.WarnContext(ctx, "email not sent: could not count it against its cap", "mail_kind", kind, "error", err)
		return
	}
	if !sent {
		s.event(ctx, "email", "suppressed", "per_address_cap", "", "mail_kind", kind)
		return
	}
	if by, ok := ctx.Value(mailDeadline{}).(time.Time); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, latest(by, time.Now().Add(mailLeast)))
		defer cancel()
	}
	if err := s.send(ctx, m); err != nil {
		s.logger.WarnContext(ctx, "email not sent", "mail_kind", kind, "error", err)
	}
}

// ErrInvalidToken reports an unknown, expired or used token.
var ErrInvalidToken = errors.New("invalid token")

// Verify uses a verification token: the person who opened the link (and so
// holds the address) chooses the password, which must pass the policy; the
// account becomes active with it and a session starts. A refused password
// changes nothing and leaves the link usable.
func (s *Service) Verify(ctx context.Context, token, pass string) (*identity.Account, *identity.Session, string, error) {
	t, err := s.store.LookupToken(ctx, identity.TokenVerifyEmail, token)
	if errors.Is(err, identity.ErrNotFound) {
		s.event(ctx, "email_verification", "failure", "invalid_token", "")
		return nil, nil, "", ErrInvalidToken
	}
	if err != nil {
		return nil, nil, "", err
	}
	pending, err := s.store.Account(ctx, t.AccountID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, "", ErrInvalidToken // the signup expired
	}
	if err != nil {
		return nil, nil, "", err
	}
	if pending.Status != identity.StatusPending {
		return nil, nil, "", s.deadToken(ctx, t)
	}
	if err := s.checkNewPassword(ctx, pass, pending.Email); err != nil {
		return nil, nil, "", err
	}
	hash, err := s.hasher.Hash(pass)
	if err != nil {
		return nil, nil, "", fmt.Errorf("hash password: %w", err)
	}
	acct, err := s.store.Activate(ctx, t, pending, hash)
	if errors.Is(err, identity.ErrTokenUsed) || errors.Is(err, identity.ErrNotFound) {
		return nil, nil, "", s.deadToken(ctx, t)
	}
	if err != nil {
		return nil, nil, "", err
	}
	s.event(ctx, "email_verification", "success", "", acct.ID)
	sess, tok, err := s.store.CreateSession(ctx, acct.ID, s.auth.Policy())
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, "", ErrInvalidToken // deleted the moment it was verified
	}
	if err != nil {
		return nil, nil, "", err
	}
	return acct, sess, tok, nil
}

// deadToken drops a verification token that can never succeed (another link
// verified the account first, or the signup expired) now rather than at its
// TTL, and answers ErrInvalidToken.
func (s *Service) deadToken(ctx context.Context, t *identity.Token) error {
	if err := s.store.DeleteToken(ctx, t); err != nil {
		s.logger.WarnContext(ctx, "could not delete a dead verification token", "error", err)
	}
	s.event(ctx, "email_verification", "failure", "invalid_token", t.AccountID)
	return ErrInvalidToken
}

// Login errors.
var (
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrLocked             = errors.New("password logins locked after too many failures")
	// errLockedNow is the failure that locked the address: its answer waits
	// for the floor, as the lock email goes only to a real account.
	errLockedNow = fmt.Errorf("%w; the address is now locked", ErrInvalidCredentials)
)

// DelayedError says a login must wait after consecutive failures.
type DelayedError struct{ RetryAfter time.Duration }

func (e *DelayedError) Error() string { return fmt.Sprintf("login delayed for %s", e.RetryAfter) }

// Login checks an address and password from a client (a pseudonym of its
// address) and starts a session. An unknown address, an address still
// pending verification and a wrong password fail alike, after the same
// hashing work, and count alike towards the address's delays and lock.
//
// Every attempt takes its slots before any hashing: first the client's
// (a client over its limit is answered 429 and nothing is counted for the
// address), then the address's, with a conditional write that counts the
// attempt as a failure until the password proves right. So a burst of N
// concurrent guesses is answered exactly as N guesses one after another.
//
// A login is a sequence of steps, each of which can end it:
//
//  1. loginRecord: the client's limit, and the address's login record;
//  2. checkPassword: the address's slot, the hash, the count (the same
//     step that password change and account deletion use);
//  3. secondFactor: an account with an active second factor gets a
//     challenge (an mfa_token) instead of a session, finished by
//     POST /v1/login/mfa (FinishLogin);
//  4. loginSucceeded: the hash upgrade, the session, the notices.
//
// Whether an account has a second factor is read while the password is
// hashed, and shows only once the password has proven right.
func (s *Service) Login(ctx context.Context, client, email, pass string) (LoginResult, error) {
	cred, noAccount, err := s.loginRecord(ctx, client, email)
	if err != nil {
		return LoginResult{}, err
	}
	// The account and its second factors are read while the password is
	// hashed; they are needed only once the password is right.
	var (
		acct    *identity.Account
		methods []string
	)
	readAccount := func(ctx context.Context, accountID string) (err error) {
		acct, methods, err = s.loginReads(ctx, accountID)
		return err
	}
	checked, err := s.checkPassword(ctx, passwordCheck{event: "login", email: email, pass: pass,
		cred: cred, noAccount: noAccount, alongside: readAccount, clearLater: true})
	if err != nil {
		return LoginResult{}, err
	}
	if checked.rehash {
		s.upgradeHash(ctx, cred, pass)
		checked.rehash = false
	}
	challenge, err := s.secondFactor(ctx, cred, checked, methods)
	if err != nil || challenge != nil {
		return LoginResult{Challenge: challenge}, err
	}
	a, sess, tok, err := s.loginSucceeded(ctx, email, pass, cred, checked, acct)
	return LoginResult{Account: a, Session: sess, Token: tok}, err
}

// loginReads reads what a login needs once its password proves right:
// the account and its second-factor methods, in two calls side by side
// (one BatchGetItem of the account, its passkeys' user item and its
// recovery codes; one Query of its TOTP factors), whatever the account.
// The account is ErrNotFound when absent (a decoy's reads).
func (s *Service) loginReads(ctx context.Context, accountID string) (*identity.Account, []string, error) {
	type listed struct {
		factors []*mfa.Factor
		err     error
	}
	factors := make(chan listed, 1)
	go func() {
		f, err := s.mfa.Factors(ctx, accountID)
		factors <- listed{f, err}
	}()
	acct, recovery, passkey := identity.ReadAccount(accountID), mfa.ReadRecovery(accountID), passkeys.ReadEnrolled(accountID)
	reads := []*statetable.Read{&acct.Read, &recovery.Read}
	_, builtin := s.passkeys.(passkeyFactor)
	if builtin {
		reads = append(reads, &passkey.Read)
	}
	err := statetable.GetMany(ctx, s.store.DB, s.store.Name, s.store.Now(), reads...)
	l := <-factors
	if err != nil {
		return nil, nil, fmt.Errorf("login reads: %w", err)
	}
	if l.err != nil {
		return nil, nil, l.err
	}
	others := passkey.Methods()
	if !builtin { // a stand-in's (Deps.MFA.Passkeys) own read
		if others, err = s.passkeys.Enrolled(ctx, accountID); err != nil {
			return nil, nil, err
		}
	}
	a, err := acct.Account()
	if err != nil {
		return nil, nil, err
	}
	return a, mfa.MethodsOf(l.factors, others, recovery.Left()), nil
}

// loginRecord applies the client's rate limit and reads the address's login
// record, both at once. A client over its limit is refused
// (RateLimitedError) whatever the address. cred is nil when no account can
// sign in with the address, and noAccount then says why (unknown, pending
// verification, being deleted), for the event log.
func (s *Service) loginRecord(ctx context.Context, client, email string) (cred *identity.Credential, noAccount string, err error) {
	type allowed struct {
		retry time.Duration
		err   error
	}
	rate := make(chan allowed, 1)
	go func() {
		retry, err := s.throttle.Allow(ctx, rateLogin, client, s.limits.Login)
		rate <- allowed{retry, err}
	}()
	cred, credErr := s.store.Credential(ctx, email)
	if r := <-rate; r.err != nil {
		return nil, "", r.err
	} else if r.retry > 0 {
		s.event(ctx, "login", "refused", "rate_limited", "")
		return nil, "", &RateLimitedError{RetryAfter: r.retry}
	}
	noAccount = "unknown_address"
	if credErr == nil && cred.Status != identity.StatusActive {
		// Pending verification or being deleted: no password opens it.
		noAccount, cred, credErr = cred.Status+"_address", nil, identity.ErrNotFound
	}
	if errors.Is(credErr, identity.ErrNotFound) {
		cred, credErr = nil, nil
	}
	if credErr != nil {
		return nil, "", credErr
	}
	return cred, noAccount, nil
}

// passwordCheck is one password check of an address: what checkPassword
// needs to know.
type passwordCheck struct {
	// event names the flow in the event log when the attempt is refused
	// (locked, delayed): "login", "password_change", "account_deletion".
	event string
	// email is the address, whose slot the attempt takes.
	email string
	pass  string
	// cred is the address's login record; nil when no account can sign in
	// with it, and then the password is hashed against the decoy (the
	// same work) and fails with the reason noAccount.
	cred      *identity.Credential
	noAccount string
	// alongside, when set, runs while the password is hashed, with the
	// account's id (a decoy's when cred is nil). Its error ends a right
	// password's check before the failures are cleared; a failed check
	// ignores it.
	alongside func(ctx context.Context, accountID string) error
	// clearLater leaves a right password's failures to the caller
	// (passwordResult.subject): a login clears them in the transaction
	// that starts its session, or stores its second factor's challenge.
	clearLater bool
}

// passwordResult is what a right password's check tells its caller.
type passwordResult struct {
	// rehash: the stored hash has outdated parameters.
	rehash bool
	// previous is the address's failures as they stood before this attempt
	// (for the "new sign-in after failed attempts" notice).
	previous throttle.Failures
	// subject is the address's pseudonym, whose failures a clearLater
	// check leaves to its caller.
	subject string
}

// checkPassword is the one password check, used by login, password change
// and account deletion: it takes the address's slot before any hashing (a
// locked or delayed address is refused: ErrLocked, DelayedError), counting
// the attempt as a failure until the password proves right; hashes (against
// the decoy when there is no account, so that the work is the same); then
// either answers the failure (loginFailed: ErrInvalidCredentials, or
// errLockedNow for the failure that locks, with the lock email) or clears
// the failures, this attempt's included (or, clearLater, leaves that to
// its caller).
func (s *Service) checkPassword(ctx context.Context, c passwordCheck) (passwordResult, error) {
	subject := s.keyer.Of(pseudonym.EmailDomain, c.email)
	att, err := s.takeAttempt(ctx, c.event, subject, c.cred)
	if err != nil {
		return passwordResult{}, err
	}
	// The reads alongside run for every address, a decoy account's when
	// there is none, so that the calls made do not tell them apart.
	accountID, encoded := s.decoyAccount, s.dummy
	if c.cred != nil {
		accountID, encoded = c.cred.AccountID, c.cred.PasswordHash
	}
	var side chan error
	if c.alongside != nil {
		side = make(chan error, 1)
		go func() { side <- c.alongside(ctx, accountID) }()
	}
	ok, rehash, err := s.hasher.Verify(c.pass, encoded)
	var sideErr error
	if side != nil {
		sideErr = <-side
	}
	if c.cred == nil {
		return passwordResult{}, s.loginFailed(ctx, att, subject, nil, c.noAccount)
	}
	if err != nil {
		return passwordResult{}, fmt.Errorf("verify password of %s: %w", c.cred.AccountID, err)
	}
	if !ok {
		return passwordResult{}, s.loginFailed(ctx, att, subject, c.cred, "wrong_password")
	}
	if sideErr != nil {
		return passwordResult{}, sideErr
	}
	if !c.clearLater {
		if err := s.throttle.ClearFailures(ctx, subject); err != nil {
			return passwordResult{}, err
		}
	}
	return passwordResult{rehash: rehash, previous: att.Previous, subject: subject}, nil
}

// takeAttempt takes the address's slot for one password check (see
// throttle.TakeAttempt), or says why not: locked or delayed.
func (s *Service) takeAttempt(ctx context.Context, event, subject string, cred *identity.Credential) (throttle.Attempt, error) {
	accountID := ""
	if cred != nil {
		accountID = cred.AccountID
	}
	att, w, err := s.throttle.TakeAttempt(ctx, subject)
	if err != nil {
		return att, err
	}
	if w.Locked {
		s.event(ctx, event, "refused", "locked", accountID)
		if !att.Failures.LockNotified {
			// The request whose failure locked it did not tell the owner
			// (yet, or ever: it may have died after its write).
			s.tellLocked(ctx, subject, cred)
		}
		return att, ErrLocked
	}
	if w.RetryAfter > 0 {
		s.event(ctx, event, "refused", "delayed", accountID)
		return att, &DelayedError{RetryAfter: w.RetryAfter}
	}
	return att, nil
}

// loginSucceeded finishes a login whose every check passed: it upgrades an
// outdated hash, starts the session and clears the address's failures in
// one transaction, and sends a sign-in notice when one is due.
func (s *Service) loginSucceeded(ctx context.Context, email, pass string, cred *identity.Credential,
	checked passwordResult, acct *identity.Account) (*identity.Account, *identity.Session, string, error) {
	if checked.rehash {
		s.upgradeHash(ctx, cred, pass)
	}
	sess, tok, err := s.store.CreateSession(ctx, cred.AccountID, s.auth.Policy(), s.throttle.ClearFailuresItem(checked.subject))
	if errors.Is(err, identity.ErrNotFound) {
		// Its deletion was accepted while the password was checked: answered
		// as for an unknown address (and, like one, the attempt stays
		// counted as a failure).
		return nil, nil, "", ErrInvalidCredentials
	}
	if err != nil {
		return nil, nil, "", err
	}
	s.event(ctx, "login", "success", "", cred.AccountID, "session_id", sess.ID)
	switch {
	case checked.previous.Delayed(s.throttle.Policy()):
		// Someone failed many times before this login: tell the owner.
		s.signInNotice(ctx, cred, signInAfterFailuresMail(email, s.appURL, checked.previous.Count))
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

// loginFailed reports a failed password check, whose failure the attempt's
// slot already counted; on the failure that locks, the owner of a real
// account is told by email (tellLocked), and the answer waits for the floor.
func (s *Service) loginFailed(ctx context.Context, att throttle.Attempt, subject string, cred *identity.Credential, reason string) error {
	accountID := ""
	if cred != nil {
		accountID = cred.AccountID
	}
	s.event(ctx, "login", "failure", reason, accountID, "consecutive_failures", att.Failures.Count)
	if att.Failures.Count != s.throttle.Policy().LockAfter {
		return ErrInvalidCredentials
	}
	s.tellLocked(ctx, subject, cred)
	return errLockedNow
}

// tellLocked tells the owner of a locked address so, once per lock: the
// first request to claim the lock's notice (throttle.ClaimLoginLockNotice)
// sends the email, whether it is the one whose failure locked or a later
// one that found the lock unannounced (the locking request may have died
// after its write). The claim is made for every address, and the email,
// capped and best effort, only to a real account's owner, so the answer is
// the same for every address.
func (s *Service) tellLocked(ctx context.Context, subject string, cred *identity.Credential) {
	claimed, err := s.throttle.ClaimLoginLockNotice(ctx, subject)
	if err != nil {
		s.logger.WarnContext(ctx, "lock email not sent: could not claim it", "error", err)
		return
	}
	if !claimed || cred == nil {
		return
	}
	s.event(ctx, "account_locked", "locked", "too_many_failures", cred.AccountID)
	s.sendCapped(ctx, cred.Email, throttle.MailLocked, lockedMail(cred.Email, s.appURL))
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

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
