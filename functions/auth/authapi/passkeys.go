package authapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/passkeys/ceremony"
	"github.com/atrium-cdn/atrium/shared/web"
)

// The passkey routes. Options answer what navigator.credentials.create()
// or .get() take, as {"publicKey": {…}} with every binary member
// (challenge, user.id, excludeCredentials[].id, allowCredentials[].id) in
// unpadded base64url: PublicKeyCredential.parseCreationOptionsFromJSON()
// and parseRequestOptionsFromJSON() read the publicKey member as it is.
// The browser's answer goes back as {"credential": <PublicKeyCredential.toJSON()>}.

// PasskeyRegistrationRequest is the body of POST /v1/passkeys: the name
// the owner gives the passkey and the browser's answer to the
// registration options.
type PasskeyRegistrationRequest struct {
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

// PasskeyRenameRequest is the body of PATCH /v1/passkeys/{id}.
type PasskeyRenameRequest struct {
	Name string `json:"name"`
}

// PasskeyCredentialRequest is the body of a passkey login: the browser's
// answer to the login options.
type PasskeyCredentialRequest struct {
	Credential json.RawMessage `json:"credential"`
}

// EmptyRequest is the body of the options routes: {}.
type EmptyRequest struct{}

type passkeyResponse struct {
	Passkey passkeys.Passkey `json:"passkey"`
}

type passkeysResponse struct {
	Passkeys []passkeys.Passkey `json:"passkeys"`
}

// passkeyName validates a passkey's name.
func passkeyName(name string) []web.FieldError {
	switch {
	case name == "":
		return []web.FieldError{{Field: "name", Code: "required", Detail: "is required"}}
	case !passkeys.ValidName(name):
		return []web.FieldError{{Field: "name", Code: "invalid_name", Detail: fmt.Sprintf(
			"must be 1 to %d printable characters, without leading or trailing spaces", passkeys.MaxNameLength)}}
	}
	return nil
}

// passkeyCredential validates the credential member's shape (its content
// is the ceremony's to judge).
func passkeyCredential(raw json.RawMessage) []web.FieldError {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return []web.FieldError{{Field: "credential", Code: "required", Detail: "is required"}}
	case len(raw) > passkeys.MaxCredentialJSON || raw[0] != '{':
		return []web.FieldError{{Field: "credential", Code: "invalid_credential", Detail: fmt.Sprintf(
			"must be the PublicKeyCredential's JSON (toJSON()), an object of at most %d bytes", passkeys.MaxCredentialJSON)}}
	}
	return nil
}

// decodeEmpty reads an options route's body, which must be {}.
func decodeEmpty(r *http.Request) error {
	var req EmptyRequest
	return web.DecodeJSON(r, &req)
}

// ownerAccount is the session's account, as a registration needs it.
func ownerAccount(sess *identity.Session) (ceremony.Account, *identity.Account, error) {
	acct, err := sess.Account()
	if err != nil {
		return ceremony.Account{}, nil, err
	}
	return ceremony.Account{ID: acct.ID, Email: acct.Email}, acct, nil
}

// passkeyProblem turns the passkeys' errors into what the client sees. A
// failed registration says so (400); a failed login is one answer (401)
// whatever failed, so nothing tells a stranger why.
func passkeyProblem(err error, login bool) error {
	switch {
	case errors.Is(err, passkeys.ErrNotFound):
		return web.CodePasskeyNotFound.New()
	case errors.Is(err, passkeys.ErrLimit):
		return web.CodePasskeyLimitReached.Errorf("An account may have at most %d passkeys; remove one first.", passkeys.DefaultMaxPerAccount)
	case errors.Is(err, passkeys.ErrAccount):
		return identity.ErrSessionEnded
	case errors.Is(err, passkeys.ErrRejected), errors.Is(err, passkeys.ErrNoPasskeys):
		if login {
			return web.CodePasskeyFailed.New().WithCause(err)
		}
		return web.CodePasskeyRejected.New().WithCause(err)
	}
	return err
}

func (s *Service) handlePasskeyRegistrationOptions(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := limit(r); err != nil {
		return err
	}
	sess := identity.SessionFrom(r.Context())
	owner, _, err := ownerAccount(sess)
	if err != nil {
		return err
	}
	creation, err := s.passkeySvc.BeginRegistration(r.Context(), owner, sess.ID)
	if err != nil {
		return passkeyProblem(err, false)
	}
	web.WriteJSON(w, http.StatusOK, creation)
	return nil
}

func (s *Service) handlePasskeyRegister(w http.ResponseWriter, r *http.Request) error {
	var req PasskeyRegistrationRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if f := append(passkeyName(req.Name), passkeyCredential(req.Credential)...); len(f) > 0 {
		return web.Invalid(f...)
	}
	ctx := r.Context()
	sess := identity.SessionFrom(ctx)
	owner, acct, err := ownerAccount(sess)
	if err != nil {
		return err
	}
	pk, err := s.passkeySvc.FinishRegistration(ctx, owner, sess.ID, req.Name, req.Credential)
	if err != nil {
		s.event(ctx, "passkey_registration", "failure", passkeys.ReasonOf(err), sess.AccountID)
		return passkeyProblem(err, false)
	}
	s.event(ctx, "passkey_registration", "success", "", sess.AccountID, "passkey_id", pk.ID)
	if err := s.send(ctx, passkeyAddedMail(acct.Email, s.appURL, pk.Name)); err != nil {
		s.logger.WarnContext(ctx, "could not send the passkey-added notice", "account_id", sess.AccountID, "error", err)
	}
	web.WriteJSON(w, http.StatusCreated, passkeyResponse{Passkey: *pk})
	return nil
}

func (s *Service) handleListPasskeys(w http.ResponseWriter, r *http.Request) error {
	list, err := s.passkeySvc.List(r.Context(), identity.SessionFrom(r.Context()).AccountID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, passkeysResponse{Passkeys: list})
	return nil
}

func (s *Service) handleRenamePasskey(w http.ResponseWriter, r *http.Request) error {
	var req PasskeyRenameRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if f := passkeyName(req.Name); len(f) > 0 {
		return web.Invalid(f...)
	}
	pk, err := s.passkeySvc.Rename(r.Context(), identity.SessionFrom(r.Context()).AccountID, r.PathValue("id"), req.Name)
	if err != nil {
		return passkeyProblem(err, false)
	}
	web.WriteJSON(w, http.StatusOK, passkeyResponse{Passkey: *pk})
	return nil
}

func (s *Service) handleRemovePasskey(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	sess := identity.SessionFrom(ctx)
	pk, err := s.passkeySvc.Remove(ctx, sess.AccountID, r.PathValue("id"))
	if err != nil {
		return passkeyProblem(err, false)
	}
	s.event(ctx, "passkey_removal", "success", "", sess.AccountID, "passkey_id", pk.ID)
	if acct, err := sess.Account(); err == nil {
		if err := s.send(ctx, passkeyRemovedMail(acct.Email, s.appURL, pk.Name)); err != nil {
			s.logger.WarnContext(ctx, "could not send the passkey-removed notice", "account_id", sess.AccountID, "error", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handlePasskeyLoginOptions starts a passwordless login. The body is {}:
// nothing in the request or the answer names an account.
func (s *Service) handlePasskeyLoginOptions(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := limit(r); err != nil {
		return err
	}
	assertion, err := s.passkeySvc.BeginLogin(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, assertion)
	return nil
}

// handlePasskeyLogin finishes a passwordless login and starts a session
// made by the passkey. Every failure is the same 401 passkey_failed.
func (s *Service) handlePasskeyLogin(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	var req PasskeyCredentialRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if f := passkeyCredential(req.Credential); len(f) > 0 {
		return web.Invalid(f...)
	}
	if err := limit(r); err != nil {
		return err
	}
	ctx := r.Context()
	accountID, pk, err := s.passkeySvc.FinishLogin(ctx, req.Credential)
	if err != nil {
		s.event(ctx, "passkey_login", "failure", passkeys.ReasonOf(err), accountID)
		return passkeyProblem(err, true)
	}
	acct, err := s.store.Account(ctx, accountID)
	if errors.Is(err, identity.ErrNotFound) {
		s.event(ctx, "passkey_login", "failure", "account_gone", accountID)
		return web.CodePasskeyFailed.New()
	}
	if err != nil {
		return err
	}
	sess, tok, err := s.store.CreateSessionWith(ctx, accountID, s.auth.Policy(), []string{mfa.MethodPasskey})
	if errors.Is(err, identity.ErrNotFound) {
		// Not active: being deleted (or, never, pending: no passkey before verification).
		s.event(ctx, "passkey_login", "failure", "account_not_active", accountID)
		return web.CodePasskeyFailed.New()
	}
	if err != nil {
		return err
	}
	s.event(ctx, "login", "success", "", accountID, "method", mfa.MethodPasskey, "passkey_id", pk.ID, "session_id", sess.ID)
	return writeSession(w, http.StatusOK, acct, sess, tok)
}

// passkeyFactor is the passkeys as the account's "passkey" second factor
// (PasskeyFactor): POST /v1/login/mfa and POST /v1/session/step-up with
// method "passkey" answer the options of POST /v1/login/mfa/passkey/options
// or POST /v1/session/step-up/passkey/options.
type passkeyFactor struct{ svc *ceremony.Service }

var _ PasskeyFactor = passkeyFactor{}

// Enrolled is ["passkey"] for an account with a passkey.
func (p passkeyFactor) Enrolled(ctx context.Context, accountID string) ([]string, error) {
	return p.svc.Enrolled(ctx, accountID)
}

// Check verifies an assertion of the account (its challenge is consumed
// at once) and returns the write recording the passkey's use, which the
// caller commits with its own; any failed check is mfa.ErrWrongCode,
// counted under the account's second-factor brake like a wrong code.
func (p passkeyFactor) Check(ctx context.Context, accountID string, credential json.RawMessage) (*mfa.Use, error) {
	pk, item, err := p.svc.VerifyFactor(ctx, accountID, credential)
	if errors.Is(err, passkeys.ErrRejected) {
		return nil, fmt.Errorf("%w (passkey: %s)", mfa.ErrWrongCode, passkeys.ReasonOf(err))
	}
	if err != nil {
		return nil, err
	}
	return &mfa.Use{Item: item, Factor: pk.ID}, nil
}

// MFATokenRequest is the body of POST /v1/login/mfa/passkey/options: the
// mfa_token of the login's challenge.
type MFATokenRequest struct {
	MFAToken string `json:"mfa_token"`
}

// handleLoginMFAPasskeyOptions answers the options of a login's second
// step with a passkey: only for a live mfa_token (the password proved
// right) of an account with a passkey.
func (s *Service) handleLoginMFAPasskeyOptions(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	var req MFATokenRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.MFAToken == "" || len(req.MFAToken) > mfa.MaxTokenLength {
		return web.Invalid(web.FieldError{Field: "mfa_token", Code: "invalid_token",
			Detail: fmt.Sprintf("must be the mfa_token of POST /v1/login, at most %d characters", mfa.MaxTokenLength)})
	}
	if err := limit(r); err != nil {
		return err
	}
	ctx := r.Context()
	c, err := s.mfa.LookupChallenge(ctx, req.MFAToken)
	if errors.Is(err, mfa.ErrNotFound) {
		return s.problem(ErrInvalidMFAToken, "")
	}
	if err != nil {
		return err
	}
	assertion, err := s.passkeySvc.BeginFactor(ctx, c.AccountID)
	if errors.Is(err, passkeys.ErrNoPasskeys) {
		return s.problem(&MethodUnavailableError{Method: mfa.MethodPasskey}, "")
	}
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, assertion)
	return nil
}

// handleStepUpPasskeyOptions answers the options of a step-up with a
// passkey, for the session's account.
func (s *Service) handleStepUpPasskeyOptions(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	if err := limit(r); err != nil {
		return err
	}
	assertion, err := s.passkeySvc.BeginFactor(r.Context(), identity.SessionFrom(r.Context()).AccountID)
	if errors.Is(err, passkeys.ErrNoPasskeys) {
		return s.problem(&MethodUnavailableError{Method: mfa.MethodPasskey}, "")
	}
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, assertion)
	return nil
}
