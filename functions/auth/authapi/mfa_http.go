package authapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/web"
)

// MFARequiredView is POST /v1/login's answer for an account with a second
// factor, once the password has proven right: no session, a token to
// finish the login with (POST /v1/login/mfa) within five minutes.
type MFARequiredView struct {
	Required  bool      `json:"mfa_required"`
	Token     string    `json:"mfa_token"`
	Methods   []string  `json:"methods"`
	ExpiresAt time.Time `json:"expires_at"`
}

// MaxCredentialBytes bounds a passkey assertion in a body.
const MaxCredentialBytes = 8 << 10

// LoginMFARequest is the body of POST /v1/login/mfa: the token of
// POST /v1/login's challenge, the method ("totp", "recovery_code",
// "passkey"), and the code, or the passkey's credential.
type LoginMFARequest struct {
	MFAToken   string          `json:"mfa_token"`
	Method     string          `json:"method"`
	Code       string          `json:"code,omitempty"`
	Credential json.RawMessage `json:"credential,omitempty"`
}

// StepUpRequest is the body of POST /v1/session/step-up: the method and
// the password, a code, or a passkey's credential.
type StepUpRequest struct {
	Method     string          `json:"method"`
	Password   string          `json:"password,omitempty"`
	Code       string          `json:"code,omitempty"`
	Credential json.RawMessage `json:"credential,omitempty"`
}

// EnrolTOTPRequest is the body of POST /v1/mfa/totp ({} for the default name).
type EnrolTOTPRequest struct {
	Name string `json:"name,omitempty"`
}

// ConfirmTOTPRequest is the body of POST /v1/mfa/totp/{id}/confirm.
type ConfirmTOTPRequest struct {
	Code string `json:"code"`
}

var factorMethods = []string{mfa.MethodTOTP, mfa.MethodRecoveryCode, mfa.MethodPasskey}

// proofFields validates a proof's method and what it needs; password
// allows the "password" method (a step-up).
func (s *Service) proofFields(method, pass, code string, credential json.RawMessage, password bool) []web.FieldError {
	allowed := factorMethods
	if password {
		allowed = append([]string{mfa.MethodPassword}, allowed...)
	}
	if !slices.Contains(allowed, method) {
		return []web.FieldError{{Field: "method", Code: "invalid_method", Detail: fmt.Sprintf("must be one of %q", allowed)}}
	}
	switch method {
	case mfa.MethodPassword:
		return s.passwordShape("password", pass)
	case mfa.MethodPasskey:
		if len(credential) == 0 || len(credential) > MaxCredentialBytes {
			return []web.FieldError{{Field: "credential", Code: "required", Detail: fmt.Sprintf("is required: the passkey's credential, at most %d bytes", MaxCredentialBytes)}}
		}
		return nil
	}
	if code == "" || len(code) > mfa.MaxCodeLength || !utf8.ValidString(code) {
		return []web.FieldError{{Field: "code", Code: "invalid_code", Detail: fmt.Sprintf("is required: text of at most %d bytes", mfa.MaxCodeLength)}}
	}
	return nil
}

func (s *Service) handleLoginMFA(w http.ResponseWriter, r *http.Request) error {
	var req LoginMFARequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	var fields []web.FieldError
	if req.MFAToken == "" || len(req.MFAToken) > mfa.MaxTokenLength {
		fields = append(fields, web.FieldError{Field: "mfa_token", Code: "invalid_token",
			Detail: fmt.Sprintf("must be the mfa_token of POST /v1/login, at most %d characters", mfa.MaxTokenLength)})
	}
	fields = append(fields, s.proofFields(req.Method, "", req.Code, req.Credential, false)...)
	if len(fields) > 0 {
		return web.Invalid(fields...)
	}
	res, err := s.FinishLogin(r.Context(), s.client(r), req.MFAToken, FactorProof{Method: req.Method, Code: req.Code, Credential: req.Credential})
	if err != nil {
		return s.problem(err, "")
	}
	return writeSessionWith(w, http.StatusOK, res.Account, res.Session, res.Token, res.RecoveryCodesLeft)
}

// StepUp refreshes the session's proof of a factor: the password (only
// for an account without a second factor: with one, the password alone is
// what a thief of it has) or a second factor, each under its brake.
func (s *Service) StepUp(ctx context.Context, sess *identity.Session, p FactorProof, pass string) (time.Time, *int, error) {
	acct, err := sess.Account()
	if err != nil {
		return time.Time{}, nil, err
	}
	var left *int
	if p.Method == mfa.MethodPassword {
		methods, err := s.methods(ctx, acct.ID)
		if err != nil {
			return time.Time{}, nil, err
		}
		if len(methods) > 0 {
			return time.Time{}, nil, &MethodUnavailableError{Method: p.Method}
		}
		if _, err := s.confirmPassword(ctx, "step_up", acct, pass); err != nil {
			return time.Time{}, nil, err
		}
	} else {
		n, err := s.proveFactor(ctx, "step_up", acct, p)
		if errors.Is(err, ErrWrongSecondFactor) {
			return time.Time{}, nil, fmt.Errorf("%w (%w)", errWrongCodeSignedIn, err)
		}
		if err != nil {
			return time.Time{}, nil, err
		}
		if p.Method == mfa.MethodRecoveryCode {
			left = &n
		}
	}
	at, err := s.store.RecordProof(ctx, sess, []string{p.Method})
	if err != nil {
		return time.Time{}, nil, err
	}
	s.event(ctx, "step_up", "success", "", acct.ID, "session_id", sess.ID, "method", p.Method)
	if left != nil {
		s.notify(ctx, acct, recoveryCodeUsedMail(acct.Email, s.appURL, *left))
	}
	return at, left, nil
}

// errWrongCodeSignedIn is a wrong code from a signed-in person: 403
// wrong_code rather than login's 401.
var errWrongCodeSignedIn = errors.New("wrong code from a signed-in session")

type stepUpView struct {
	Method            string    `json:"method"`
	ReauthenticatedAt time.Time `json:"reauthenticated_at"`
	ValidUntil        time.Time `json:"valid_until"`
}

func (s *Service) handleStepUp(w http.ResponseWriter, r *http.Request) error {
	var req StepUpRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if f := s.proofFields(req.Method, req.Password, req.Code, req.Credential, true); len(f) > 0 {
		return web.Invalid(f...)
	}
	at, left, err := s.StepUp(r.Context(), identity.SessionFrom(r.Context()),
		FactorProof{Method: req.Method, Code: req.Code, Credential: req.Credential}, req.Password)
	if err != nil {
		return s.problem(err, "password")
	}
	web.WriteJSON(w, http.StatusOK, struct {
		StepUp            stepUpView `json:"step_up"`
		RecoveryCodesLeft *int       `json:"recovery_codes_left,omitempty"`
	}{stepUpView{req.Method, at.UTC(), at.Add(s.stepUp.Window()).UTC()}, left})
	return nil
}

// requireStepUpFor is the step-up rule of password change and account
// deletion, whose bodies re-confirm the password: for an account without a
// second factor, that password is the step-up of the request; for one with
// a second factor, the session must also have stepped up with one within
// the window (the password is what a thief may have).
func (s *Service) requireStepUpFor(ctx context.Context, sess *identity.Session) error {
	methods, err := s.methods(ctx, sess.AccountID)
	if err != nil {
		return err
	}
	if len(methods) == 0 {
		return nil
	}
	return s.stepUp.Fresh(ctx, sess)
}

type mfaView struct {
	mfa.Summary
	Methods             []string `json:"methods"`
	StepUpWindowSeconds int      `json:"step_up_window_seconds"`
}

func (s *Service) handleListFactors(w http.ResponseWriter, r *http.Request) error {
	me := identity.SessionFrom(r.Context())
	sum, err := s.mfa.Summarize(r.Context(), me.AccountID)
	if err != nil {
		return err
	}
	methods, err := s.methods(r.Context(), me.AccountID)
	if err != nil {
		return err
	}
	if methods == nil {
		methods = []string{}
	}
	web.WriteJSON(w, http.StatusOK, mfaView{Summary: sum, Methods: methods, StepUpWindowSeconds: int(s.stepUp.Window() / time.Second)})
	return nil
}

func (s *Service) handleEnrolTOTP(w http.ResponseWriter, r *http.Request) error {
	var req EnrolTOTPRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	name, ok := mfa.CleanName(req.Name)
	if !ok {
		return web.Invalid(web.FieldError{Field: "name", Code: "invalid_name",
			Detail: fmt.Sprintf("must be printable text of at most %d characters", mfa.MaxNameLength)})
	}
	me := identity.SessionFrom(r.Context())
	acct, err := me.Account()
	if err != nil {
		return err
	}
	e, err := s.mfa.EnrolTOTP(r.Context(), me.AccountID, me.ID, acct.Email, name)
	switch {
	case errors.Is(err, mfa.ErrTooMany):
		return web.CodeFactorLimitReached.New()
	case errors.Is(err, identity.ErrNotFound):
		return identity.ErrSessionEnded
	case err != nil:
		return err
	}
	s.event(r.Context(), "mfa_enrol", "pending", "", me.AccountID, "factor_id", e.Factor.ID)
	web.WriteJSON(w, http.StatusCreated, struct {
		Factor     mfa.FactorView `json:"factor"`
		Secret     string         `json:"secret"`
		OTPAuthURI string         `json:"otpauth_uri"`
		ExpiresAt  time.Time      `json:"expires_at"`
	}{mfa.ViewFactor(e.Factor), mfa.EncodeSecret(e.Secret), e.URI, e.Factor.CreatedAt.Add(mfa.PendingTTL).UTC()})
	return nil
}

func (s *Service) handleConfirmTOTP(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	var req ConfirmTOTPRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if f := s.proofFields(mfa.MethodTOTP, "", req.Code, nil, false); len(f) > 0 {
		return web.Invalid(f...)
	}
	me := identity.SessionFrom(r.Context())
	id := r.PathValue("id")
	if !ids.Valid("mfa", id) {
		return web.CodeFactorNotFound.New()
	}
	if err := limit(r); err != nil {
		return err
	}
	acct, err := me.Account()
	if err != nil {
		return err
	}
	err = s.ConfirmTOTP(r.Context(), me, acct, id, req.Code)
	switch {
	case errors.Is(err, mfa.ErrNotFound):
		return web.CodeFactorNotFound.New()
	case err != nil:
		return s.problem(err, "")
	}
	f, err := s.mfa.Factor(r.Context(), me.AccountID, id)
	if err != nil {
		return err
	}
	// The first factor brings recovery codes; a later one keeps the
	// account's (their count stays visible in GET /v1/mfa).
	var codes []string
	if _, found, err := s.mfa.Recovery(r.Context(), me.AccountID); err != nil {
		return err
	} else if !found {
		if codes, err = s.mfa.GenerateRecoveryCodes(r.Context(), me.AccountID); err != nil {
			return err
		}
	}
	others, err := s.otherSessions(r.Context(), me)
	if err != nil {
		return err
	}
	s.event(r.Context(), "mfa_enrol", "success", "", me.AccountID, "factor_id", id, "recovery_codes_made", len(codes))
	s.notify(r.Context(), acct, factorAddedMail(acct.Email, s.appURL, f.Name))
	web.WriteJSON(w, http.StatusOK, struct {
		Factor        mfa.FactorView `json:"factor"`
		RecoveryCodes []string       `json:"recovery_codes,omitempty"`
		OtherSessions int            `json:"other_sessions"`
	}{mfa.ViewFactor(f), codes, others})
	return nil
}

// ConfirmTOTP confirms a pending TOTP enrolment with its first code. Only
// the session that enrolled it may (another one finds no such factor:
// enrolling needed a fresh step-up, confirming must not be a way around
// it), and a code is a second-factor guess like a login's: the account's
// second-factor slot is taken first (refused while delayed or locked), a
// wrong code stays counted and also counts against the enrolment, which
// dies at mfa.MaxPendingWrongCodes; the right one clears the count.
func (s *Service) ConfirmTOTP(ctx context.Context, sess *identity.Session, acct *identity.Account, factorID, code string) error {
	if _, err := s.mfa.PendingFactor(ctx, acct.ID, sess.ID, factorID); err != nil {
		return err
	}
	key := mfa.FailuresKey(identity.AccountPartition(acct.ID))
	att, wait, err := s.mfaThrottle.TakeAttemptAt(ctx, key)
	if err != nil {
		return err
	}
	if wait.Locked {
		s.event(ctx, "mfa_enrol", "refused", "locked", acct.ID, "factor_id", factorID)
		if !att.Failures.LockNotified {
			s.tellFactorLocked(ctx, acct) // the locking request did not
		}
		return ErrSecondFactorLocked
	}
	if wait.RetryAfter > 0 {
		s.event(ctx, "mfa_enrol", "refused", "delayed", acct.ID, "factor_id", factorID)
		return &SecondFactorDelayedError{RetryAfter: wait.RetryAfter}
	}
	use, err := s.mfa.CheckPendingTOTP(ctx, acct.ID, sess.ID, factorID, code)
	if err == nil {
		_, err = s.mfa.Commit(ctx, []*mfa.Use{use})
	}
	if errors.Is(err, mfa.ErrWrongCode) {
		dead, derr := s.mfa.PendingWrongCode(ctx, acct.ID, factorID)
		if derr != nil {
			return derr
		}
		if dead {
			s.event(ctx, "mfa_enrol", "failure", "enrolment_dead", acct.ID, "factor_id", factorID)
		}
		return fmt.Errorf("%w (%w)", errWrongCodeSignedIn, s.factorFailed(ctx, "mfa_enrol", acct, mfa.MethodTOTP, att))
	}
	if err != nil {
		return err
	}
	return s.mfaThrottle.ClearFailuresAt(ctx, key)
}

// otherSessions counts the account's live sessions besides this one, which
// a factor change offers to end (DELETE /v1/sessions).
func (s *Service) otherSessions(ctx context.Context, me *identity.Session) (int, error) {
	list, err := s.store.Sessions(ctx, me.AccountID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range list {
		if x.ID != me.ID {
			n++
		}
	}
	return n, nil
}

func (s *Service) handleRemoveFactor(w http.ResponseWriter, r *http.Request) error {
	me := identity.SessionFrom(r.Context())
	id := r.PathValue("id")
	if !ids.Valid("mfa", id) {
		return web.CodeFactorNotFound.New()
	}
	acct, err := me.Account()
	if err != nil {
		return err
	}
	f, err := s.mfa.Factor(r.Context(), me.AccountID, id)
	if errors.Is(err, mfa.ErrNotFound) {
		return web.CodeFactorNotFound.New()
	}
	if err != nil {
		return err
	}
	found, left, err := s.mfa.Remove(r.Context(), me.AccountID, id, s.otherFactors()...)
	if err != nil {
		return err
	}
	if !found {
		return web.CodeFactorNotFound.New()
	}
	s.event(r.Context(), "mfa_remove", "success", "", me.AccountID, "factor_id", id, "active_left", left)
	if f.Status == mfa.StatusActive {
		s.notify(r.Context(), acct, factorRemovedMail(acct.Email, s.appURL, f.Name, left))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleRegenerateCodes(w http.ResponseWriter, r *http.Request) error {
	me := identity.SessionFrom(r.Context())
	acct, err := me.Account()
	if err != nil {
		return err
	}
	list, err := s.mfa.Factors(r.Context(), me.AccountID)
	if err != nil {
		return err
	}
	has := len(mfa.Active(list)) > 0
	if !has && s.passkeys != nil {
		pk, err := s.passkeys.Enrolled(r.Context(), me.AccountID)
		if err != nil {
			return err
		}
		has = len(pk) > 0
	}
	if !has {
		return web.CodeNoSecondFactor.New()
	}
	codes, err := s.mfa.GenerateRecoveryCodes(r.Context(), me.AccountID)
	if errors.Is(err, identity.ErrNotFound) {
		return identity.ErrSessionEnded
	}
	if err != nil {
		return err
	}
	s.event(r.Context(), "recovery_codes", "success", "regenerated", me.AccountID)
	s.notify(r.Context(), acct, recoveryCodesMail(acct.Email, s.appURL))
	web.WriteJSON(w, http.StatusCreated, map[string]any{"recovery_codes": codes, "left": len(codes)})
	return nil
}
