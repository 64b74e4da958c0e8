package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
)

// Code is the stable, machine-readable code of a problem the API answers
// (the problem document's "code" and the last segment of its "type"). Every
// code is declared once, below, with the HTTP status it is always answered
// with; a client may rely on a code's meaning and status not changing.
// Nothing outside this file spells a code (a test reads the repository).
type Code string

// The problem codes of the API.
const (
	// Requests in general (shared/web, shared/lambdahttp).
	CodeValidationFailed     Code = "validation_failed"
	CodeMalformedJSON        Code = "malformed_json"
	CodeUnreadableBody       Code = "unreadable_body"
	CodeBodyTooLarge         Code = "body_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeNotFound             Code = "not_found"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeInternalError        Code = "internal_error"
	CodeBadEvent             Code = "bad_event"
	CodeRateLimited          Code = "rate_limited"
	// A function whose secret still holds the stack's placeholder (shared/coldstart).
	CodeNotConfigured Code = "not_configured"

	// Sessions (shared/identity).
	CodeUnauthenticated  Code = "unauthenticated"
	CodeOriginNotAllowed Code = "origin_not_allowed"

	// Sign-up, login and passwords (functions/auth).
	CodeInvalidCredentials     Code = "invalid_credentials" // #nosec G101 -- a problem code, not a credential
	CodeInvalidToken           Code = "invalid_token"
	CodeLoginDelayed           Code = "login_delayed"
	CodeLoginLocked            Code = "login_locked"
	CodeBreachCheckUnavailable Code = "breach_check_unavailable"
	CodeWrongPassword          Code = "wrong_password"
	CodePasswordChanged        Code = "password_changed"
	CodeSessionNotFound        Code = "session_not_found"

	// Passkeys (functions/auth, shared/passkeys).
	CodePasskeyRejected     Code = "passkey_rejected"
	CodePasskeyFailed       Code = "passkey_failed"
	CodePasskeyNotFound     Code = "passkey_not_found"     // #nosec G101 -- a problem code, not a credential
	CodePasskeyLimitReached Code = "passkey_limit_reached" // #nosec G101 -- a problem code, not a credential
	// Second factors and step-up (functions/auth, shared/mfa).
	CodeInvalidMfaToken     Code = "invalid_mfa_token" // #nosec G101 -- a problem code, not a credential
	CodeInvalidSecondFactor Code = "invalid_second_factor"
	CodeWrongCode           Code = "wrong_code"
	CodeSecondFactorDelayed Code = "second_factor_delayed"
	CodeSecondFactorLocked  Code = "second_factor_locked"
	CodeStepUpRequired      Code = "step_up_required"
	CodeFactorNotFound      Code = "factor_not_found"
	CodeFactorLimitReached  Code = "factor_limit_reached"
	CodeNoSecondFactor      Code = "no_second_factor"

	// Account deletion (functions/deletion).
	CodeDeletionNotFound Code = "deletion_not_found"

	// Storage sources (functions/sources).
	CodeSourceNotFound     Code = "source_not_found"
	CodeSourceUnreachable  Code = "source_unreachable"
	CodeSourceLimitReached Code = "source_limit_reached"
	CodeSourceBusy         Code = "source_busy"

	// Billing (functions/billing, functions/stripewebhook).
	CodeBillingUnavailable Code = "billing_unavailable"
	CodeAlreadySubscribed  Code = "already_subscribed"
	CodeNoBillingAccount   Code = "no_billing_account"
	CodeSignatureMissing   Code = "signature_missing"
	CodeSignatureInvalid   Code = "signature_invalid"
	CodeSignatureStale     Code = "signature_stale"
	CodeInvalidEvent       Code = "invalid_event"
	CodeEventInProgress    Code = "event_in_progress"
	CodeStripeUnavailable  Code = "stripe_unavailable"

	// Compliance (functions/compliance).
	CodePremiumRequired Code = "premium_required"
	CodeNDARequired     Code = "nda_required"
)

// CodeInfo is what the registry holds about a code.
type CodeInfo struct {
	Code   Code
	Status int    // the HTTP status it is always answered with
	Title  string // what the code means, in a few words (documentation)
	// Message is the detail New answers with, for a code that always says
	// the same thing; empty when each use words its own (Errorf).
	Message string
}

type entry struct {
	status         int
	title, message string
}

// registry holds every code: adding one is a constant above and a line
// here (a code listed twice does not compile).
var registry = map[Code]entry{
	CodeValidationFailed:     {http.StatusBadRequest, "The request has invalid fields", "The request has invalid fields."},
	CodeMalformedJSON:        {http.StatusBadRequest, "The body is not one well-formed JSON object", ""},
	CodeUnreadableBody:       {http.StatusBadRequest, "The body could not be read", "The request body could not be read."},
	CodeBodyTooLarge:         {http.StatusRequestEntityTooLarge, "The body is too large", ""},
	CodeUnsupportedMediaType: {http.StatusUnsupportedMediaType, "The body is not application/json", "Send the request body as application/json."},
	CodeNotFound:             {http.StatusNotFound, "No such route", "There is no such route."},
	CodeMethodNotAllowed:     {http.StatusMethodNotAllowed, "The route does not accept the method", ""},
	CodeInternalError:        {http.StatusInternalServerError, "Something failed on our side", "Something went wrong on our side. Try again later."},
	CodeBadEvent:             {http.StatusBadRequest, "API Gateway sent a malformed event", ""},
	CodeRateLimited:          {http.StatusTooManyRequests, "Too many requests; see Retry-After", ""},
	CodeNotConfigured:        {http.StatusServiceUnavailable, "The service is not set up yet", "This service is not set up yet: its operator has not configured it. Try again later."},

	CodeUnauthenticated:  {http.StatusUnauthorized, "No live session", "Log in first: this route needs a valid session."},
	CodeOriginNotAllowed: {http.StatusForbidden, "A cookie-authenticated request from another origin", "Cookie-authenticated requests must come from the dashboard's origin."},

	CodeInvalidCredentials:     {http.StatusUnauthorized, "Wrong email address or password", "The email address or password is wrong. If you signed up recently, confirm your address first with the link we emailed you."},
	CodeInvalidToken:           {http.StatusBadRequest, "The emailed link is unknown, expired or used", "This link is unknown, expired or already used. Ask for a new one."},
	CodeLoginDelayed:           {http.StatusTooManyRequests, "Failed logins for the address; see Retry-After", "Too many failed attempts for this address. Wait before trying again, or reset your password."},
	CodeLoginLocked:            {http.StatusTooManyRequests, "Password logins for the address are locked", "Too many failed attempts for this address: password logins are locked. Reset your password by email to unlock."},
	CodeBreachCheckUnavailable: {http.StatusServiceUnavailable, "New passwords cannot be checked right now", "We cannot check new passwords against known breaches right now. Try again shortly."},
	CodeWrongPassword:          {http.StatusForbidden, "The current password is wrong", "The current password is wrong."},
	CodePasswordChanged:        {http.StatusConflict, "The password changed meanwhile", "The password was changed meanwhile. Log in again."},
	CodeSessionNotFound:        {http.StatusNotFound, "No such session of the account", "You have no session with that id."},

	CodePasskeyRejected:     {http.StatusBadRequest, "The passkey could not be registered", "The passkey could not be registered: its ceremony expired, was already used, or the authenticator's answer did not verify. Start again."},
	CodePasskeyFailed:       {http.StatusUnauthorized, "The passkey could not be verified", "The passkey could not be verified. Start again, or use another way to sign in."},
	CodePasskeyNotFound:     {http.StatusNotFound, "No such passkey of the account", "You have no passkey with that id."},
	CodePasskeyLimitReached: {http.StatusConflict, "The account has as many passkeys as it may", ""},
	CodeInvalidMfaToken:     {http.StatusUnauthorized, "The sign-in challenge is unknown, expired or used", "This sign-in has expired or was already finished. Log in again with your password."},
	CodeInvalidSecondFactor: {http.StatusUnauthorized, "The second factor is wrong, expired or used", "The code is wrong, expired or already used."},
	CodeWrongCode:           {http.StatusForbidden, "The code is wrong, expired or used", "The code is wrong, expired or already used."},
	CodeSecondFactorDelayed: {http.StatusTooManyRequests, "Failed second factors for the account; see Retry-After", "Too many wrong codes for this account. Wait before trying again."},
	CodeSecondFactorLocked:  {http.StatusTooManyRequests, "Second-factor attempts for the account are locked", "Too many wrong codes for this account: second-factor attempts are locked. Contact support to recover the account."},
	CodeStepUpRequired:      {http.StatusForbidden, "The change needs a fresh proof of a factor", "This change needs you to confirm it is you: POST /v1/session/step-up with a factor of the account, then try again."},
	CodeFactorNotFound:      {http.StatusNotFound, "No such second factor of the account", "You have no second factor with that id, or its enrolment expired."},
	CodeFactorLimitReached:  {http.StatusConflict, "The account has as many second factors as allowed", "You have as many authenticators as an account may have; remove one first."},
	CodeNoSecondFactor:      {http.StatusConflict, "The account has no active second factor", "Recovery codes stand in for a second factor: enrol one first."},

	CodeDeletionNotFound: {http.StatusNotFound, "No such deletion", "There is no deletion with that id (receipts are kept for a year)."},

	CodeSourceNotFound:     {http.StatusNotFound, "No such source of the account", "You have no source with that id."},
	CodeSourceUnreachable:  {http.StatusUnprocessableEntity, "The bucket could not be read with the keys", ""},
	CodeSourceLimitReached: {http.StatusConflict, "The plan's source limit is reached", ""},
	CodeSourceBusy:         {http.StatusConflict, "Another change of the source's keys is under way", "Another change of this source's credentials is under way. Try again in a minute."},

	CodeBillingUnavailable: {http.StatusBadGateway, "Stripe is unreachable", "Billing is unavailable right now; try again shortly."},
	CodeAlreadySubscribed:  {http.StatusConflict, "The account already has premium", ""},
	CodeNoBillingAccount:   {http.StatusConflict, "The account never subscribed", "This account has never subscribed; start with POST /v1/billing/checkout."},
	CodeSignatureMissing:   {http.StatusBadRequest, "No Stripe-Signature header", ""},
	CodeSignatureInvalid:   {http.StatusBadRequest, "The Stripe signature does not match", ""},
	CodeSignatureStale:     {http.StatusBadRequest, "The Stripe signature is outside the accepted window", ""},
	CodeInvalidEvent:       {http.StatusBadRequest, "The body is not a usable Stripe event", ""},
	CodeEventInProgress:    {http.StatusConflict, "Another delivery of the event is being applied", "Another delivery of this event is being applied; it will be acknowledged then."},
	CodeStripeUnavailable:  {http.StatusServiceUnavailable, "Stripe could not be read; the event may be retried", "Stripe could not be read; the event was not applied and may be retried."},

	CodePremiumRequired: {http.StatusForbidden, "The request needs the premium plan", ""},
	CodeNDARequired:     {http.StatusForbidden, "The request needs the current NDA accepted", ""},
}

// Codes lists the registry, ordered by code.
func Codes() []CodeInfo {
	out := make([]CodeInfo, 0, len(registry))
	for c := range registry {
		info, _ := c.Info()
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b CodeInfo) int { return cmp.Compare(a.Code, b.Code) })
	return out
}

// Info returns what the registry holds about c; ok is false for a code
// that is not registered.
func (c Code) Info() (info CodeInfo, ok bool) {
	e, ok := registry[c]
	return CodeInfo{Code: c, Status: e.status, Title: e.title, Message: e.message}, ok
}

// Status is the HTTP status c is answered with (500 for a code that is not
// registered, which cannot happen for a constant declared above: the
// registry test checks each has its line).
func (c Code) Status() int {
	if e, ok := registry[c]; ok {
		return e.status
	}
	return http.StatusInternalServerError
}

// New is the client error c with its registered message.
func (c Code) New() *Error {
	return &Error{Status: c.Status(), Code: c, Message: registry[c].message}
}

// Errorf is the client error c with a message of its own.
func (c Code) Errorf(format string, args ...any) *Error {
	return &Error{Status: c.Status(), Code: c, Message: fmt.Sprintf(format, args...)}
}
