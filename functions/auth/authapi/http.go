package authapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/atrium-cdn/atrium/shared/breached"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/config"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/emailaddr"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mail"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/passkeys/ceremony"
	"github.com/atrium-cdn/atrium/shared/password"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/throttle"
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
	// What one hash may cost follows from the function's memory (Lambda sets
	// AWS_LAMBDA_FUNCTION_MEMORY_SIZE; the local stack does not) and timeout
	// (Lambda does not say: FUNCTION_TIMEOUT), defaulting to template.yaml's.
	limit := password.LimitFor(password.Function{
		MemoryMB: r.Int("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", password.TemplateAuthFunction.MemoryMB, password.MinFunctionMemoryMB, password.MaxFunctionMemoryMB),
		Timeout:  r.Duration("FUNCTION_TIMEOUT", password.TemplateAuthFunction.Timeout, time.Second, password.MaxFunctionTimeout),
	})
	// Each value is bounded by config to [Floor, limit], which fit the narrower
	// types; NewHasherWithLimit also bounds memory × time.
	params := password.Params{
		MemoryKiB: uint32(r.Int("ARGON2_MEMORY_KIB", int(password.Default.MemoryKiB), int(password.Floor.MemoryKiB), int(limit.MemoryKiB))), // #nosec G115 -- bounded above
		Time:      uint32(r.Int("ARGON2_TIME", int(password.Default.Time), int(password.Floor.Time), int(limit.Time))),                      // #nosec G115 -- bounded above
		Threads:   uint8(r.Int("ARGON2_THREADS", int(password.Default.Threads), int(password.Floor.Threads), int(limit.Threads))),           // #nosec G115 -- bounded above
		SaltLen:   password.Default.SaltLen,
		KeyLen:    password.Default.KeyLen,
	}
	policy := password.DefaultPolicy()
	policy.MinLength = r.Int("PASSWORD_MIN_LENGTH", policy.MinLength, 8, 64)
	appURL := r.URL("APP_BASE_URL", "")
	if appURL == "" {
		r.Required("APP_BASE_URL")
	}
	mailSettings := mail.ReadSettings(r)
	keySecret := r.Required("CLIENT_KEY_SECRET_ARN")
	tp := throttle.DefaultPolicy()
	tp.FreeFailures = r.Int("LOGIN_FREE_FAILURES", tp.FreeFailures, 1, 20)
	tp.BaseDelay = r.Duration("LOGIN_BASE_DELAY", tp.BaseDelay, 100*time.Millisecond, time.Minute)
	tp.MaxDelay = r.Duration("LOGIN_MAX_DELAY", tp.MaxDelay, time.Second, 24*time.Hour)
	tp.LockAfter = r.Int("LOGIN_LOCK_AFTER", tp.LockAfter, tp.FreeFailures+1, 100)
	if err := tp.Validate(); err != nil {
		r.Check("LOGIN_MAX_DELAY", false, "with the other LOGIN_* settings, must make a usable policy (%v)", err)
	}
	if err := MFAPolicy().Validate(); err != nil {
		return nil, fmt.Errorf("second-factor %w", err)
	}
	limits := DefaultLimits()
	for _, l := range []struct {
		name string
		dst  *throttle.Limit
	}{{"RATE_LIMIT_LOGIN", &limits.Login}, {"RATE_LIMIT_SIGNUP", &limits.Signup},
		{"RATE_LIMIT_VERIFY", &limits.Verify}, {"RATE_LIMIT_PASSWORD", &limits.Password}} {
		l.dst.Max = r.Int(l.name, l.dst.Max, 1, 100000)
	}
	breachMode := r.String("BREACHED_PASSWORD_CHECK", "off")
	breachURL := r.URL("BREACHED_PASSWORD_API_URL", "https://api.pwnedpasswords.com")
	breachTimeout := r.Duration("BREACHED_PASSWORD_TIMEOUT", 2*time.Second, 100*time.Millisecond, 10*time.Second)
	answerFloor := r.Duration("ANSWER_MIN_DURATION", DefaultAnswerFloor, 0, 10*time.Second)
	limits.Mail.Max = r.Int("MAIL_CAP_PER_ADDRESS", limits.Mail.Max, 1, 1000)
	passkeyConfig := ceremony.Config{
		RPID:         r.Required("PASSKEY_RP_ID"),
		RPName:       r.String("PASSKEY_RP_NAME", "Atrium"),
		Origins:      r.List("PASSKEY_ORIGINS"),
		ChallengeTTL: r.Duration("PASSKEY_CHALLENGE_TTL", passkeys.DefaultChallengeTTL, 30*time.Second, 10*time.Minute),
	}
	if len(passkeyConfig.Origins) == 0 {
		r.Required("PASSKEY_ORIGINS")
	}
	mfaKeySecret := r.Required("MFA_KEY_SECRET_ARN")
	stepUpWindow := r.Duration("STEP_UP_WINDOW", mfa.DefaultStepUpWindow, time.Minute, time.Hour)
	if err := b.Finish(); err != nil {
		return nil, err
	}
	// The three secrets are read at once: each read is a round trip to
	// Secrets Manager, the longest part of a cold start in AWS. Their
	// errors are then taken in the order they always were.
	var (
		smtp                     *mail.SMTP
		keyer                    *pseudonym.Keyer
		sealer                   *mfa.Sealer
		smtpErr, keyErr, sealErr error
		reads                    sync.WaitGroup
	)
	reads.Go(func() { smtp, smtpErr = mailSettings.Open(ctx, b.SecretJSON) })
	reads.Go(func() { keyer, keyErr = pseudonym.FromSecret(ctx, b.SecretJSON, keySecret) })
	reads.Go(func() { sealer, sealErr = mfa.SealerFromSecret(ctx, b.SecretJSON, mfaKeySecret) })
	reads.Wait()
	if nc, ok := config.AsNotConfigured(smtpErr); ok {
		// Sign-up, resets and notices all need email: the whole function
		// waits for its SMTP login rather than half-working.
		return b.NotConfigured(nc), nil
	}
	if err := cmp.Or(smtpErr, keyErr, sealErr); err != nil {
		return nil, err
	}
	var checker BreachChecker
	switch breachMode {
	case "off":
	case "fail-open", "fail-closed":
		bc, err := breached.New(breached.Options{BaseURL: breachURL, Timeout: breachTimeout,
			FailClosed: breachMode == "fail-closed",
			OnFailure: func(err error) {
				b.Logger.Warn("breached-password check failed; password accepted (fail-open)", "error", err)
			}})
		if err != nil {
			return nil, fmt.Errorf("breached-password check: %w", err)
		}
		checker = bc
	default:
		return nil, fmt.Errorf("invalid configuration: BREACHED_PASSWORD_CHECK: must be off, fail-open or fail-closed")
	}
	pk, err := ceremony.New(b.DynamoDB, b.Table, b.Now, passkeyConfig)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: PASSKEY_RP_ID, PASSKEY_ORIGINS: %w", err)
	}
	hasher, err := password.NewHasherWithLimit(params, limit)
	if err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	svc, err := NewService(Deps{Store: b.Identity, Auth: b.Auth, Hasher: hasher, Policy: policy,
		Mail: smtp, AppURL: appURL, Logger: b.Logger,
		Throttle: throttle.NewStore(b.DynamoDB, b.Table, tp, b.Now), Keyer: keyer, Limits: limits, Breached: checker,
		AnswerFloor: cmp.Or(answerFloor, -1), Deletions: deletion.NewStore(b.DynamoDB, b.Table, b.Now),
		MFA: MFADeps{Store: mfa.NewStore(b.DynamoDB, b.Table, sealer, b.Now),
			Throttle: throttle.NewStore(b.DynamoDB, b.Table, MFAPolicy(), b.Now), StepUpWindow: stepUpWindow},
		Passkeys: pk})
	if err != nil {
		return nil, err
	}
	return b.Serve(svc.Handler(b.Auth)), nil
}

// Handler routes the auth function's requests. A route limited per client
// address names its limit here (limited); its handler counts the request
// once the body is valid, so a malformed body is refused without counting.
func (s *Service) Handler(auth *identity.Authenticator) http.Handler {
	rt := web.NewRouter(s.logger)
	rt.Handle("POST /v1/signup", s.limited(rateSignup, s.limits.Signup, s.handleSignup))
	rt.Handle("POST /v1/signup/verify", s.limited(rateVerify, s.limits.Verify, s.handleVerify))
	// Limited too, per client (s.limits.Login), but inside Login: the
	// client's slot is taken alongside the read of the address's, and a
	// client over its limit causes no hash (see Login).
	rt.Handle("POST /v1/login", s.handleLogin)
	rt.Handle("POST /v1/logout", auth.Require(s.handleLogout))
	// Forgot and reset share one counter (ratePassword).
	rt.Handle("POST /v1/password/forgot", s.limited(ratePassword, s.limits.Password, s.handleForgot))
	rt.Handle("POST /v1/password/reset", s.limited(ratePassword, s.limits.Password, s.handleReset))
	rt.Handle("POST /v1/password/change", auth.Require(s.handleChange))
	rt.Handle("GET /v1/sessions", auth.Require(s.handleListSessions))
	rt.Handle("DELETE /v1/sessions", auth.Require(s.handleRevokeOtherSessions))
	rt.Handle("DELETE /v1/sessions/{id}", auth.Require(s.handleRevokeSession))
	rt.Handle("DELETE /v1/account", auth.Require(s.handleDeleteAccount))
	// Passkeys (passkeys.go). Passwordless logins and registration options
	// share a per-client limit (ratePasskey, the login limit): options
	// write a challenge item, and a finish reads and verifies.
	// Adding or removing a passkey needs a fresh step-up (mfa.StepUp), as
	// any factor's does; renaming one does not.
	rt.Handle("POST /v1/passkeys/registration/options", auth.Require(s.stepUp.Require(s.limited(ratePasskey, s.limits.Login, s.handlePasskeyRegistrationOptions))))
	rt.Handle("POST /v1/passkeys", auth.Require(s.stepUp.Require(s.handlePasskeyRegister)))
	rt.Handle("GET /v1/passkeys", auth.Require(s.handleListPasskeys))
	rt.Handle("PATCH /v1/passkeys/{id}", auth.Require(s.handleRenamePasskey))
	rt.Handle("DELETE /v1/passkeys/{id}", auth.Require(s.stepUp.Require(s.handleRemovePasskey)))
	rt.Handle("POST /v1/login/passkey/options", s.limited(ratePasskey, s.limits.Login, s.handlePasskeyLoginOptions))
	rt.Handle("POST /v1/login/passkey", s.limited(ratePasskey, s.limits.Login, s.handlePasskeyLogin))
	// The passkey's options for the login's second step (POST /v1/login/mfa
	// with method "passkey") and for a step-up with a passkey.
	rt.Handle("POST /v1/login/mfa/passkey/options", s.limited(ratePasskey, s.limits.Login, s.handleLoginMFAPasskeyOptions))
	// Each writes a challenge item: limited per client like the others.
	rt.Handle("POST /v1/session/step-up/passkey/options", auth.Require(s.limited(ratePasskey, s.limits.Login, s.handleStepUpPasskeyOptions)))
	// Second factors (mfa_http.go). Finishing a login is limited per client
	// (s.limits.Login, counted in FinishLogin) and per account (the
	// second factor's brake); a step-up per account.
	rt.Handle("POST /v1/login/mfa", s.handleLoginMFA)
	rt.Handle("POST /v1/session/step-up", auth.Require(s.handleStepUp))
	rt.Handle("GET /v1/mfa", auth.Require(s.handleListFactors))
	// Adding or removing a factor and new recovery codes need a fresh
	// step-up (mfa.StepUp); confirming an enrolment needs its first code,
	// from the session that enrolled it, under the second factor's brake
	// (ConfirmTOTP) and the per-client limit of POST /v1/login/mfa.
	rt.Handle("POST /v1/mfa/totp", auth.Require(s.stepUp.Require(s.handleEnrolTOTP)))
	rt.Handle("POST /v1/mfa/totp/{id}/confirm", auth.Require(s.limited(rateLoginMFA, s.limits.Login, s.handleConfirmTOTP)))
	rt.Handle("DELETE /v1/mfa/factors/{id}", auth.Require(s.stepUp.Require(s.handleRemoveFactor)))
	rt.Handle("POST /v1/mfa/recovery-codes", auth.Require(s.stepUp.Require(s.handleRegenerateCodes)))
	return rt
}

// CredentialsRequest is the body of login.
type CredentialsRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// VerifyRequest is the body of signup verification: the token from the
// email's link and the password the person chooses for the account.
type VerifyRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
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
	// RecoveryCodesLeft: after a login with a recovery code only.
	RecoveryCodesLeft *int `json:"recovery_codes_left,omitempty"`
}

// decodeCredentials validates a signup or login body: a valid address, and
// a password present and bounded (the policy is signup's own later step: old
// passwords may predate it).
func (s *Service) decodeCredentials(r *http.Request) (email, pass string, err error) {
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
	fields = append(fields, s.passwordShape("password", req.Password)...)
	if len(fields) > 0 {
		return "", "", web.Invalid(fields...)
	}
	return email, req.Password, nil
}

// passwordShape checks that a password field is present and bounded.
func (s *Service) passwordShape(field, pass string) []web.FieldError {
	switch {
	case pass == "":
		return []web.FieldError{{Field: field, Code: "required", Detail: "is required"}}
	case len(pass) > s.maxPass || !utf8.ValidString(pass):
		return []web.FieldError{{Field: field, Code: "password_invalid",
			Detail: fmt.Sprintf("must be valid text of at most %d bytes", s.maxPass)}}
	}
	return nil
}

// decodeEmail validates a body holding only an email address.
func decodeEmail(r *http.Request) (string, error) {
	var req struct {
		Email string `json:"email"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return "", err
	}
	email, err := emailaddr.Normalize(req.Email)
	if err != nil {
		return "", web.Invalid(web.FieldError{Field: "email", Code: "invalid_email",
			Detail: fmt.Sprintf("must be an email address of at most %d characters", emailaddr.MaxLength)})
	}
	return email, nil
}

func validToken(token string) error {
	if token == "" || len(token) > identity.MaxTokenLength {
		return web.Invalid(web.FieldError{Field: "token", Code: "invalid_token",
			Detail: fmt.Sprintf("must be the token from the email, at most %d characters", identity.MaxTokenLength)})
	}
	return nil
}

// RateLimitedError says a client sent too many requests of one kind.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string { return fmt.Sprintf("rate limited for %s", e.RetryAfter) }

// clientRequests is what a client over its limit sent too many of.
const clientRequests = "requests from your network"

// client is the pseudonym of the address a request came from.
func (s *Service) client(r *http.Request) string {
	return s.keyer.Of(pseudonym.ClientDomain, pseudonym.ClientIP(r))
}

// limited declares a route's per-client limit, counted under action: the
// handler passes the gate once the request's body is valid.
func (s *Service) limited(action string, l throttle.Limit, h web.GatedFunc) web.HandlerFunc {
	count := s.throttle.Gate(action, l, s.client, clientRequests)
	return web.Limited(func(r *http.Request) error {
		err := count(r)
		if web.CodeOf(err) == web.CodeRateLimited {
			s.event(r.Context(), action, "refused", "rate_limited", "")
		}
		return err
	}, h)
}

// problem turns the service's errors into what the client sees; field names
// the password field a policy error belongs to.
func (s *Service) problem(err error, field string) error {
	var (
		delayed *DelayedError
		limited *RateLimitedError
		policy  *PolicyError
	)
	switch {
	case errors.As(err, &limited):
		return web.RateLimited(limited.RetryAfter, clientRequests)
	case errors.As(err, &delayed):
		return web.CodeLoginDelayed.New().WithRetryAfter(delayed.RetryAfter)
	case errors.Is(err, ErrLocked):
		return web.CodeLoginLocked.New()
	case errors.Is(err, ErrInvalidCredentials):
		return web.CodeInvalidCredentials.New()
	case errors.Is(err, ErrInvalidToken):
		return web.CodeInvalidToken.New()
	case errors.As(err, &policy):
		return web.Invalid(web.FieldError{Field: field, Code: policy.Code, Detail: policy.Message})
	case errors.Is(err, ErrBreachCheckUnavailable):
		return web.CodeBreachCheckUnavailable.New().WithCause(err)
	case errors.Is(err, ErrWrongPassword):
		return web.CodeWrongPassword.New()
	case errors.Is(err, ErrPasswordChanged):
		return web.CodePasswordChanged.New()
	}
	var (
		mfaDelayed  *SecondFactorDelayedError
		unavailable *MethodUnavailableError
	)
	switch {
	case errors.As(err, &mfaDelayed):
		return web.CodeSecondFactorDelayed.New().WithRetryAfter(mfaDelayed.RetryAfter)
	case errors.Is(err, ErrSecondFactorLocked):
		return web.CodeSecondFactorLocked.New()
	case errors.Is(err, errWrongCodeSignedIn):
		return web.CodeWrongCode.New()
	case errors.Is(err, ErrWrongSecondFactor):
		return web.CodeInvalidSecondFactor.New()
	case errors.Is(err, ErrInvalidMFAToken):
		return web.CodeInvalidMfaToken.New()
	case errors.Is(err, ErrStepUpRequired):
		return web.CodeStepUpRequired.New()
	case errors.As(err, &unavailable):
		detail := "the account has no such second factor"
		if unavailable.Method == "password" {
			detail = "the account has a second factor: step up with it"
		}
		return web.Invalid(web.FieldError{Field: "method", Code: "method_unavailable", Detail: detail})
	}
	return err
}

func (s *Service) handleSignup(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	email, err := decodeEmail(r)
	if err != nil {
		return err
	}
	// The floor counts from the moment the body is read, which the client
	// controls: a new address costs more writes than a known one, so every
	// address is answered at the same moment after that.
	start := time.Now()
	if err := limit(r); err != nil {
		return err
	}
	if err := s.Signup(s.mailBy(r.Context(), start), email); err != nil {
		return err
	}
	s.waitFloor(r.Context(), start)
	web.WriteJSON(w, http.StatusAccepted, map[string]string{"status": "verification_sent"})
	return nil
}

func (s *Service) handleVerify(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	var req VerifyRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := validToken(req.Token); err != nil {
		return err
	}
	if f := s.passwordShape("password", req.Password); f != nil {
		return web.Invalid(f...)
	}
	if err := limit(r); err != nil {
		return err
	}
	acct, sess, token, err := s.Verify(r.Context(), req.Token, req.Password)
	if err != nil {
		return s.problem(err, "password")
	}
	return writeSession(w, http.StatusCreated, acct, sess, token)
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) error {
	email, pass, err := s.decodeCredentials(r)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := s.Login(r.Context(), s.client(r), email, pass)
	if errors.Is(err, errLockedNow) {
		// Only a real account is sent the lock email: the locking failure
		// of every address is answered at the same moment.
		s.waitFloor(r.Context(), start)
	}
	if err != nil {
		return s.problem(err, "")
	}
	if c := res.Challenge; c != nil {
		web.WriteJSON(w, http.StatusOK, MFARequiredView{Required: true, Token: c.Token, Methods: c.Methods, ExpiresAt: c.ExpiresAt})
		return nil
	}
	return writeSession(w, http.StatusOK, res.Account, res.Session, res.Token)
}

func writeSession(w http.ResponseWriter, status int, acct *identity.Account, sess *identity.Session, token string) error {
	return writeSessionWith(w, status, acct, sess, token, nil)
}

// writeSessionWith is writeSession with the recovery codes left after a
// login with one.
func writeSessionWith(w http.ResponseWriter, status int, acct *identity.Account, sess *identity.Session, token string, left *int) error {
	plan, err := plans.Of(acct) // from the account item as read, no second read
	if err != nil {
		return err
	}
	identity.SetSessionCookie(w, token, time.Unix(sess.EndsAt, 0))
	web.WriteJSON(w, status, sessionResponse{Account: identity.ViewAccount(acct, plan.PlanAt(sess.CreatedAt)),
		Session: SessionView{Token: token, ExpiresAt: sess.ExpiresAt()}, RecoveryCodesLeft: left})
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

func (s *Service) handleForgot(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	email, err := decodeEmail(r)
	if err != nil {
		return err
	}
	start := time.Now() // after the body, whose pace the client controls
	if err := limit(r); err != nil {
		return err
	}
	if err := s.Forgot(s.mailBy(r.Context(), start), email); err != nil {
		return err
	}
	// Only a registered address costs an email: answer every address at the
	// same moment after the request began.
	s.waitFloor(r.Context(), start)
	web.WriteJSON(w, http.StatusAccepted, map[string]string{"status": "reset_email_sent_if_registered"})
	return nil
}

// ResetRequest is the body of a password reset.
type ResetRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

func (s *Service) handleReset(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	var req ResetRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := validToken(req.Token); err != nil {
		return err
	}
	if f := s.passwordShape("new_password", req.NewPassword); f != nil {
		return web.Invalid(f...)
	}
	if err := limit(r); err != nil {
		return err
	}
	if err := s.Reset(r.Context(), req.Token, req.NewPassword); err != nil {
		return s.problem(err, "new_password")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ChangeRequest is the body of a password change.
type ChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Service) handleChange(w http.ResponseWriter, r *http.Request) error {
	var req ChangeRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	fields := append(s.passwordShape("current_password", req.CurrentPassword), s.passwordShape("new_password", req.NewPassword)...)
	if len(fields) > 0 {
		return web.Invalid(fields...)
	}
	if err := s.Change(r.Context(), identity.SessionFrom(r.Context()), req.CurrentPassword, req.NewPassword); err != nil {
		return s.problem(err, "new_password")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
