package authapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/password"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// Forgot sends a reset link to an active account's address. An unknown (or
// unverified) address gets nothing, after the same reads and writes (its
// count against the per-address cap, and a decoy token no one will ever
// hold), and its caller answers the same; a failure to send is only logged.
func (s *Service) Forgot(ctx context.Context, email string) error {
	cred, err := s.store.Credential(ctx, email)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return err
	}
	if err != nil || cred.Status != identity.StatusActive {
		if _, err := s.store.IssueToken(ctx, identity.Token{Kind: identity.TokenResetPassword}, ResetTokenTTL); err != nil {
			return err
		}
		if _, err := s.throttle.Take(ctx, throttle.MailReset, s.keyer.Of(pseudonym.EmailDomain, email), s.limits.Mail); err != nil {
			s.logger.WarnContext(ctx, "could not count a decoy email against its cap", "error", err)
		}
		s.event(ctx, "password_reset_request", "ignored", "no_active_account", "")
		return nil
	}
	token, err := s.store.IssueToken(ctx, identity.Token{Kind: identity.TokenResetPassword, AccountID: cred.AccountID}, ResetTokenTTL)
	if errors.Is(err, identity.ErrNotFound) {
		return nil // its deletion was accepted meanwhile
	}
	if err != nil {
		return err
	}
	s.event(ctx, "password_reset_request", "success", "", cred.AccountID)
	s.sendCapped(ctx, email, throttle.MailReset, resetMail(email, s.appURL, token))
	return nil
}

// PolicyError is a new password refused by the policy or the breach check.
type PolicyError struct{ Code, Message string }

func (e *PolicyError) Error() string { return e.Code }

// ErrBreachCheckUnavailable reports a fail-closed breach check that could not run.
var ErrBreachCheckUnavailable = errors.New("breached-password check unavailable")

// checkNewPassword applies the policy (with the address as context) and, when
// configured, the breached-password check.
func (s *Service) checkNewPassword(ctx context.Context, pass, email string) error {
	if err := s.policy.Check(pass, email); err != nil {
		var pe *password.PolicyError
		if !errors.As(err, &pe) {
			return fmt.Errorf("check password policy: %w", err)
		}
		return &PolicyError{Code: pe.Code, Message: pe.Message}
	}
	if s.breached == nil {
		return nil
	}
	// Search the breach list for the form that would be stored.
	if n, err := password.Normalize(pass); err == nil {
		pass = n
	}
	breached, err := s.breached.Breached(ctx, pass)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBreachCheckUnavailable, err)
	}
	if breached {
		return &PolicyError{Code: "password_breached",
			Message: "This password appears in known data breaches; choose another."}
	}
	return nil
}

// Reset sets a new password from a reset link: the token is used up, the
// lockout cleared, every session ended, and the owner told by email.
func (s *Service) Reset(ctx context.Context, token, pass string) error {
	t, err := s.store.LookupToken(ctx, identity.TokenResetPassword, token)
	if err == nil && t.AccountID == "" {
		err = identity.ErrNotFound // a decoy
	}
	if errors.Is(err, identity.ErrNotFound) {
		s.event(ctx, "password_reset", "failure", "invalid_token", "")
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	acct, err := s.store.Account(ctx, t.AccountID)
	if errors.Is(err, identity.ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	if err := s.checkNewPassword(ctx, pass, acct.Email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(pass)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	subject := s.keyer.Of(pseudonym.EmailDomain, acct.Email)
	fails, err := s.throttle.LoginFailures(ctx, subject)
	if err != nil {
		return err
	}
	// A reset that ends a lockout (or running delays) asks for a "new
	// sign-in" email at the next login, which the cleared count cannot.
	notify := fails.Delayed(s.throttle.Policy())
	err = s.store.SetPassword(ctx, t, acct.Email, hash, notify, s.throttle.ClearFailuresItem(subject))
	if errors.Is(err, identity.ErrTokenUsed) {
		s.event(ctx, "password_reset", "failure", "invalid_token", acct.ID)
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	revoked, err := s.store.RevokeSessions(ctx, acct.ID, "")
	if err != nil {
		return err
	}
	s.event(ctx, "password_reset", "success", "", acct.ID, "sessions_revoked", revoked)
	s.notifyPasswordChanged(ctx, acct)
	return nil
}

// Change errors.
var (
	ErrWrongPassword   = errors.New("current password is wrong")
	ErrPasswordChanged = errors.New("password changed concurrently")
)

// confirmPassword checks the password of a signed-in person with the same
// step as login (checkPassword): the attempt takes the address's slot
// before the hash (a locked or delayed address is refused), and a wrong
// password stays counted as a failed login (ErrWrongPassword). On success
// the failures are cleared. It returns the login record.
func (s *Service) confirmPassword(ctx context.Context, event string, acct *identity.Account, pass string) (*identity.Credential, error) {
	cred, err := s.store.Credential(ctx, acct.Email)
	if err != nil {
		return nil, err
	}
	_, err = s.checkPassword(ctx, passwordCheck{event: event, email: acct.Email, pass: pass, cred: cred})
	if errors.Is(err, ErrInvalidCredentials) {
		// A wrong password (the one that locks included: a signed-in
		// person's answer waits for no floor).
		return nil, ErrWrongPassword
	}
	if err != nil {
		return nil, err
	}
	return cred, nil
}

// Change replaces the password of a signed-in person who proves the current
// one (under the same failure counting as login); every other session ends.
func (s *Service) Change(ctx context.Context, sess *identity.Session, current, next string) error {
	acct, err := sess.Account() // read with the session
	if err != nil {
		return err
	}
	if err := s.requireStepUpFor(ctx, sess); err != nil {
		return err
	}
	cred, err := s.confirmPassword(ctx, "password_change", acct, current)
	if err != nil {
		return err
	}
	if err := s.checkNewPassword(ctx, next, acct.Email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(next)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	swapped, err := s.store.ReplacePasswordHash(ctx, acct.Email, cred.PasswordHash, hash, true)
	if err != nil {
		return err
	}
	if !swapped {
		return ErrPasswordChanged
	}
	revoked, err := s.store.RevokeSessions(ctx, acct.ID, sess.ID)
	if err != nil {
		return err
	}
	s.event(ctx, "password_change", "success", "", acct.ID, "sessions_revoked", revoked)
	s.notifyPasswordChanged(ctx, acct)
	return nil
}

// notifyPasswordChanged tells the owner their password changed. The change
// stands either way, so a failure to send is only logged: answering 500
// would suggest it did not.
func (s *Service) notifyPasswordChanged(ctx context.Context, acct *identity.Account) {
	if err := s.send(ctx, passwordChangedMail(acct.Email, s.appURL)); err != nil {
		s.logger.WarnContext(ctx, "password-changed email not sent", "account_id", acct.ID, "error", err)
	}
}
