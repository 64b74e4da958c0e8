// Package gateway plays API Gateway's part locally: it builds every HTTP
// function and routes each of its routes to it, on one handler.
package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/atrium-cdn/atrium/functions/account/accountapi"
	"github.com/atrium-cdn/atrium/functions/auth/authapi"
	"github.com/atrium-cdn/atrium/functions/billing/billingapi"
	"github.com/atrium-cdn/atrium/functions/compliance/complianceapi"
	"github.com/atrium-cdn/atrium/functions/deletion/deletionapi"
	"github.com/atrium-cdn/atrium/functions/sources/sourcesapi"
	"github.com/atrium-cdn/atrium/functions/stripewebhook/stripewebhookapi"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/web"
)

// HTTPFunction is one Lambda function behind the HTTP API.
type HTTPFunction struct {
	Name      string   // its folder under functions/
	LogicalID string   // its resource in template.yaml
	Routes    []string // "METHOD /path" patterns, as template.yaml routes them
	New       func(context.Context, coldstart.Env) (http.Handler, error)
}

// HTTPFunctions lists every function the HTTP API routes to.
var HTTPFunctions = []HTTPFunction{
	{Name: "auth", LogicalID: "AuthFunction", Routes: authapi.Routes, New: authapi.New},
	{Name: "account", LogicalID: "AccountFunction", Routes: accountapi.Routes, New: accountapi.New},
	{Name: "sources", LogicalID: "SourcesFunction", Routes: sourcesapi.Routes, New: sourcesapi.New},
	{Name: "billing", LogicalID: "BillingFunction", Routes: billingapi.Routes, New: billingapi.New},
	{Name: "stripewebhook", LogicalID: "StripeWebhookFunction", Routes: stripewebhookapi.Routes, New: stripewebhookapi.New},
	{Name: "deletion", LogicalID: "DeletionFunction", Routes: deletionapi.Routes, New: deletionapi.New},
	{Name: "compliance", LogicalID: "ComplianceFunction", Routes: complianceapi.Routes, New: complianceapi.New},
}

// New builds every HTTP function with env(function name) and routes each
// of its patterns to it, as API Gateway does in production.
func New(ctx context.Context, env func(function string) coldstart.Env) (http.Handler, error) {
	// Unknown routes and methods are answered as problem documents, like every error.
	logger := logging.New(io.Discard, slog.LevelInfo)
	mux := web.NewRouter(logger)
	for _, fn := range HTTPFunctions {
		h, err := fn.New(ctx, env(fn.Name))
		if err != nil {
			return nil, fmt.Errorf("start function %s: %w", fn.Name, err)
		}
		for _, route := range fn.Routes {
			mux.Mount(route, h)
		}
	}
	// The answer to a request no function serves (404, 405) goes through the
	// shared request path too, so that it carries X-Request-Id, Cache-Control
	// and a request_id like every other problem. A function's own request
	// path runs inside and sets its own request id (the one its logs and
	// problem documents carry); the body limit is each function's, so the
	// gateway's is only API Gateway's payload limit.
	return web.Wrap(mux, web.Options{Logger: logger, Function: "gateway", MaxBody: maxAPIPayload}), nil
}

// maxAPIPayload is API Gateway's limit for an HTTP API request's payload.
const maxAPIPayload = 10 << 20
