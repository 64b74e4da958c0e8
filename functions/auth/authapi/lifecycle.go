package authapi

import (
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// Actions of the per-client counters this package's routes declare
// (Routes: s.limited(...), and Login's Allow).
const (
	rateLogin    = "login"
	rateSignup   = "signup"
	rateVerify   = "verify"
	ratePassword = "password" // forgot and reset share it
	ratePasskey  = "passkey"  // passwordless options and finish, registration and step-up options share it
	// rateLoginMFA counts POST /v1/login/mfa and POST /v1/mfa/totp/{id}/confirm
	// (its limit is the login's).
	rateLoginMFA = "login-mfa"
)

// clientRateActions are all of them, for the lifecycle registry.
var clientRateActions = []string{rateLogin, rateSignup, rateVerify, ratePassword, rateLoginMFA, ratePasskey}

// LifecycleKinds are the items this package writes for itself: the
// per-client request counters of its routes (infra/registry collects
// them; see package lifecycle). Accounts, tokens and sessions are package
// identity's, failed-login counters and email caps package throttle's.
var LifecycleKinds = []lifecycle.Kind{
	{
		Name: "client_rate_counter", Owner: "github.com/atrium-cdn/atrium/functions/auth/authapi", Table: lifecycle.StateTable,
		Purpose:   "per-client request counters of signup, verification, login, password and passkey routes: the counts of the current and the previous minute, in one item per route group under a keyed hash of the client address",
		Retention: lifecycle.Retention{Text: "2 minutes after the client's last request (TTL; each request moves it)", TTL: true},
		// Keyed by a client address, which no account deletion can name.
		Erasure: lifecycle.ErasedByTTL,
		Export:  lifecycle.NotExported + "a count under a pseudonym of a client address, tied to no account",
		Match:   throttle.RateCounterKeys(clientRateActions...),
	},
}
