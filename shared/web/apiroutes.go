package web

// APIRoutes are every route of the HTTP API, as template.yaml's route keys
// spell them. The function that serves API Gateway's $default route (every
// request no route matches) registers them with Router.Elsewhere, so that it
// answers a known path with another method 405 and its Allow header, and any
// other path 404, exactly as the whole API's router would. A test of the
// local gateway fails when this list and the functions' routes differ.
var APIRoutes = []string{
	"DELETE /v1/account",
	"DELETE /v1/mfa/factors/{id}",
	"DELETE /v1/sessions",
	"DELETE /v1/sessions/{id}",
	"DELETE /v1/sources/{id}",
	"GET /v1/account",
	"GET /v1/account/deletion/{id}",
	"GET /v1/account/export",
	"GET /v1/billing",
	"GET /v1/compliance/requests",
	"GET /v1/logs",
	"GET /v1/mfa",
	"GET /v1/sessions",
	"GET /v1/sources",
	"GET /v1/sources/{id}",
	"PATCH /v1/sources/{id}",
	"POST /v1/billing/checkout",
	"POST /v1/billing/portal",
	"POST /v1/compliance/nda",
	"POST /v1/compliance/requests",
	"POST /v1/dmca",
	"POST /v1/login",
	"POST /v1/login/mfa",
	"POST /v1/logout",
	"POST /v1/mfa/recovery-codes",
	"POST /v1/mfa/totp",
	"POST /v1/mfa/totp/{id}/confirm",
	"POST /v1/password/change",
	"POST /v1/password/forgot",
	"POST /v1/password/reset",
	"POST /v1/session/step-up",
	"POST /v1/signup",
	"POST /v1/signup/verify",
	"POST /v1/sources",
	"POST /v1/webhooks/stripe",
	"PUT /v1/sources/{id}/credentials",
}
