package authapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mail"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// PasskeyFactor is where passkeys (shared/passkeys, branch h-passkeys)
// plug into the login's second factor (POST /v1/login/mfa) and the step-up
// (POST /v1/session/step-up) with method "passkey"; nil: no account has
// the method. The request's "credential" (the browser's
// PublicKeyCredential, as its toJSON() gives it) is handed over as sent.
type PasskeyFactor interface {
	// Enrolled reports the passkey methods the account has (["passkey"]
	// when it has a passkey usable as a second factor), for the login's
	// "methods" and the step-up rule (mfa.OtherFactors).
	Enrolled(ctx context.Context, accountID string) ([]string, error)
	// Check verifies an assertion of the account against the challenge
	// it was asked for, and returns the write that records its use (sign
	// count, the assertion challenge consumed), which commits in one
	// transaction with the login challenge; mfa.ErrWrongCode for an
	// assertion that does not verify.
	Check(ctx context.Context, accountID string, credential json.RawMessage) (*mfa.Use, error)
}

// MFADeps are the second factor's collaborators.
type MFADeps struct {
	Store *mfa.Store
	// Throttle counts consecutive wrong codes per account (TakeAttemptAt on
	// the account's mfa.FailuresKey) under its own policy.
	Throttle *throttle.Store
	// StepUpWindow is how recent a proof must be for a sensitive change.
	StepUpWindow time.Duration
	// Passkeys is filled by shared/passkeys; nil until then.
	Passkeys PasskeyFactor
}

// MFAPolicy is the brake of second-factor codes per account: as the
// password's (5 free, then 1 s doubling to 15 min, locked at the 100th),
// but a lock lasts 30 days after the last failure rather than a year, and
// no password reset lifts it (a reset must not help past the second
// factor); support does, after the manual recovery (README).
func MFAPolicy() throttle.Policy {
	p := throttle.DefaultPolicy()
	p.LockMemory = p.Memory
	return p
}

// Errors of the second factor.
var (
	ErrInvalidMFAToken    = errors.New("unknown, expired or used mfa_token")
	ErrWrongSecondFactor  = errors.New("wrong, expired or used second factor")
	ErrSecondFactorLocked = errors.New("second-factor attempts locked")
	ErrStepUpRequired     = mfa.ErrStepUpRequired
	ErrNoSecondFactor     = errors.New("the account has no active second factor")
	// errLockedNowMFA is the wrong code that locked the account.
	errLockedNowMFA = fmt.Errorf("%w; the account's second factor is now locked", ErrWrongSecondFactor)
)

// SecondFactorDelayedError says second-factor attempts must wait.
type SecondFactorDelayedError struct{ RetryAfter time.Duration }

func (e *SecondFactorDelayedError) Error() string {
	return fmt.Sprintf("second factor delayed for %s", e.RetryAfter)
}

// MethodUnavailableError is a method the account has not enrolled (or, for
// "password", one a step-up cannot use because the account has a second
// factor).
type MethodUnavailableError struct{ Method string }

func (e *MethodUnavailableError) Error() string { return "method unavailable: " + e.Method }

// MFAChallenge is a login whose password proved right and whose account
// has a second factor: no session yet, a token to finish it with.
type MFAChallenge struct {
	Token     string
	Methods   []string
	ExpiresAt time.Time
}

// LoginResult is what a login ends in: a session, or a challenge.
type LoginResult struct {
	Account *identity.Account
	Session *identity.Session
	Token   string
	// Challenge is set, and the rest empty, when a second factor must
	// finish the login.
	Challenge *MFAChallenge
	// RecoveryCodesLeft is set after a login with a recovery code.
	RecoveryCodesLeft *int
}

// methods returns the second-factor methods the account has.
func (s *Service) methods(ctx context.Context, accountID string) ([]string, error) {
	if s.mfa == nil {
		return nil, nil
	}
	return s.mfa.Methods(ctx, accountID, s.otherFactors()...)
}

// otherFactors are the second-factor kinds beyond package mfa's: the
// passkeys' one list (passkeys.Store.Factors, which the sources
// function's step-up takes too), or the PasskeyFactor the deps gave.
func (s *Service) otherFactors() []mfa.OtherFactors {
	if _, ok := s.passkeys.(passkeyFactor); ok || s.passkeys == nil {
		return s.passkeySvc.Factors()
	}
	return []mfa.OtherFactors{s.passkeys.Enrolled}
}

// secondFactor is the login's step after the password: an account with an
// active second factor gets no session but a challenge (a short-lived,
// single-use mfa_token, stored hashed, bound to the account and to the
// password version that just proved right), stored in one write with the
// clearing of the address's failures (the password proved right);
// POST /v1/login/mfa finishes it. An account without one goes on to its
// session (nil).
func (s *Service) secondFactor(ctx context.Context, cred *identity.Credential, checked passwordResult, methods []string) (*MFAChallenge, error) {
	if len(methods) == 0 {
		return nil, nil
	}
	c, tok, err := s.mfa.NewChallenge(ctx, mfa.Challenge{AccountID: cred.AccountID,
		PasswordSetMillis: cred.PasswordSetMillis, PreviousFailures: checked.previous.Count,
		NotifyNextLogin: cred.NotifyNextLogin}, s.throttle.ClearFailuresItem(checked.subject))
	if errors.Is(err, identity.ErrNotFound) {
		return nil, ErrInvalidCredentials // its deletion was accepted meanwhile
	}
	if err != nil {
		return nil, err
	}
	s.event(ctx, "login", "second_factor_required", "", cred.AccountID)
	return &MFAChallenge{Token: tok, Methods: methods, ExpiresAt: time.Unix(c.ExpiresAt, 0).UTC()}, nil
}

// FactorProof is what a second factor is proven with.
type FactorProof struct {
	Method     string
	Code       string          // totp, recovery_code
	Credential json.RawMessage // passkey
}

// FinishLogin finishes a login's challenge with a second factor. The
// client's rate limit comes first; then the token must name a live
// challenge whose password is still the account's; then the account's
// second-factor slot is taken before any code is checked (a burst of
// wrong codes is answered as the same codes one after another); then the
// code's use and the challenge's consumption are one transaction, so a
// code and a challenge are each used once, however concurrent.
func (s *Service) FinishLogin(ctx context.Context, client, token string, p FactorProof) (LoginResult, error) {
	retry, err := s.throttle.Allow(ctx, rateLoginMFA, client, s.limits.Login)
	if err != nil {
		return LoginResult{}, err
	}
	if retry > 0 {
		s.event(ctx, "login_mfa", "refused", "rate_limited", "")
		return LoginResult{}, &RateLimitedError{RetryAfter: retry}
	}
	c, err := s.mfa.LookupChallenge(ctx, token)
	if errors.Is(err, mfa.ErrNotFound) {
		s.event(ctx, "login_mfa", "failure", "invalid_mfa_token", "")
		return LoginResult{}, ErrInvalidMFAToken
	}
	if err != nil {
		return LoginResult{}, err
	}
	acct, cred, err := s.challengeAccount(ctx, c)
	if err != nil {
		return LoginResult{}, err
	}
	consume, err := s.mfa.ConsumeChallenge(c)
	if err != nil {
		return LoginResult{}, err
	}
	left, err := s.proveFactor(ctx, "login_mfa", acct, p, consume)
	if err != nil {
		return LoginResult{}, err
	}
	sess, tok, err := s.store.CreateSessionWith(ctx, acct.ID, s.auth.Policy(), []string{mfa.MethodPassword, p.Method})
	if errors.Is(err, identity.ErrNotFound) {
		return LoginResult{}, ErrInvalidMFAToken // deleted meanwhile
	}
	if err != nil {
		return LoginResult{}, err
	}
	s.event(ctx, "login", "success", "", acct.ID, "session_id", sess.ID, "method", p.Method)
	switch {
	case c.PreviousFailures >= s.throttle.Policy().FreeFailures:
		s.signInNotice(ctx, cred, signInAfterFailuresMail(acct.Email, s.appURL, c.PreviousFailures))
	case c.NotifyNextLogin:
		s.signInNotice(ctx, cred, signInAfterLockoutMail(acct.Email, s.appURL))
	}
	res := LoginResult{Account: acct, Session: sess, Token: tok}
	if p.Method == mfa.MethodRecoveryCode {
		res.RecoveryCodesLeft = &left
		s.notify(ctx, acct, recoveryCodeUsedMail(acct.Email, s.appURL, left))
	}
	return res, nil
}

// challengeAccount reads the challenge's account and login record and
// checks that the challenge still stands: the account active, its
// password the one that proved right (a reset or change since kills it).
func (s *Service) challengeAccount(ctx context.Context, c *mfa.Challenge) (*identity.Account, *identity.Credential, error) {
	acct, err := s.store.Account(ctx, c.AccountID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, ErrInvalidMFAToken
	}
	if err != nil {
		return nil, nil, err
	}
	cred, err := s.store.Credential(ctx, acct.Email)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, nil, ErrInvalidMFAToken
	}
	if err != nil {
		return nil, nil, err
	}
	if acct.Status != identity.StatusActive || cred.Status != identity.StatusActive || cred.AccountID != acct.ID ||
		cred.PasswordSetMillis != c.PasswordSetMillis {
		s.event(ctx, "login_mfa", "failure", "challenge_outdated", acct.ID)
		return nil, nil, ErrInvalidMFAToken
	}
	return acct, cred, nil
}

// proveFactor checks a second factor of the account under its brake: the
// account's slot is taken first (refused while delayed or locked), the
// code checked, and its use committed with the extra items (a login
// challenge's consumption) in one transaction. A wrong or replayed code
// stays counted; a right one clears the count. For a recovery code it
// returns how many are left (else -1).
func (s *Service) proveFactor(ctx context.Context, event string, acct *identity.Account, p FactorProof, with ...types.TransactWriteItem) (int, error) {
	methods, err := s.methods(ctx, acct.ID)
	if err != nil {
		return -1, err
	}
	if !slices.Contains(methods, p.Method) {
		return -1, &MethodUnavailableError{Method: p.Method}
	}
	key := mfa.FailuresKey(identity.AccountPartition(acct.ID))
	att, w, err := s.mfaThrottle.TakeAttemptAt(ctx, key)
	if err != nil {
		return -1, err
	}
	if w.Locked {
		s.event(ctx, event, "refused", "locked", acct.ID)
		if !att.Failures.LockNotified {
			s.tellFactorLocked(ctx, acct) // the locking request did not
		}
		return -1, ErrSecondFactorLocked
	}
	if w.RetryAfter > 0 {
		s.event(ctx, event, "refused", "delayed", acct.ID)
		return -1, &SecondFactorDelayedError{RetryAfter: w.RetryAfter}
	}
	var use *mfa.Use
	switch p.Method {
	case mfa.MethodTOTP:
		use, err = s.mfa.CheckTOTP(ctx, acct.ID, p.Code)
	case mfa.MethodRecoveryCode:
		use, err = s.mfa.CheckRecoveryCode(acct.ID, p.Code)
	case mfa.MethodPasskey:
		// DISPATCH POINT for passkeys (branch h-passkeys): shared/passkeys
		// fills s.passkeys (Deps.MFA.Passkeys); its Check verifies the
		// assertion and returns the write that records its use, committed
		// below with the login challenge like a code's.
		if s.passkeys == nil {
			return -1, &MethodUnavailableError{Method: p.Method}
		}
		use, err = s.passkeys.Check(ctx, acct.ID, p.Credential)
	default:
		return -1, &MethodUnavailableError{Method: p.Method}
	}
	if err == nil {
		_, err = s.mfa.Commit(ctx, []*mfa.Use{use}, with...)
		if errors.Is(err, mfa.ErrConditionFailed) {
			// The login challenge was used meanwhile; the code was not.
			return -1, ErrInvalidMFAToken
		}
	}
	if errors.Is(err, mfa.ErrWrongCode) {
		return -1, s.factorFailed(ctx, event, acct, p.Method, att)
	}
	if err != nil {
		return -1, err
	}
	if err := s.mfaThrottle.ClearFailuresAt(ctx, key); err != nil {
		return -1, err
	}
	s.event(ctx, event, "success", "", acct.ID, "method", p.Method)
	if p.Method != mfa.MethodRecoveryCode {
		return -1, nil
	}
	return s.mfa.RecoveryLeft(ctx, acct.ID)
}

// factorFailed reports a wrong second factor, already counted; the one
// that locks emails the owner (tellFactorLocked).
func (s *Service) factorFailed(ctx context.Context, event string, acct *identity.Account, method string, att throttle.Attempt) error {
	s.event(ctx, event, "failure", "wrong_"+method, acct.ID, "consecutive_failures", att.Failures.Count)
	if att.Failures.Count != s.mfaThrottle.Policy().LockAfter {
		return ErrWrongSecondFactor
	}
	s.tellFactorLocked(ctx, acct)
	return errLockedNowMFA
}

// tellFactorLocked emails the owner that the account's second factor is
// locked, once per lock: whichever request first claims the lock's notice
// (throttle.ClaimLockNoticeAt), the one whose wrong code locked or a later
// one that found the lock unannounced (the locking request may have died
// after its write).
func (s *Service) tellFactorLocked(ctx context.Context, acct *identity.Account) {
	claimed, err := s.mfaThrottle.ClaimLockNoticeAt(ctx, mfa.FailuresKey(identity.AccountPartition(acct.ID)))
	if err != nil {
		s.logger.WarnContext(ctx, "second-factor lock email not sent: could not claim it", "account_id", acct.ID, "error", err)
		return
	}
	if !claimed {
		return
	}
	s.event(ctx, "second_factor_locked", "locked", "too_many_failures", acct.ID)
	s.notify(ctx, acct, secondFactorLockedMail(acct.Email, s.appURL))
}

// notify sends the owner an email about their own account (best effort:
// what it reports stands either way).
func (s *Service) notify(ctx context.Context, acct *identity.Account, m mail.Message) {
	if err := s.send(ctx, m); err != nil {
		s.logger.WarnContext(ctx, "security email not sent", "account_id", acct.ID, "error", err)
	}
}
