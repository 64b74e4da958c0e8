// Package lambdahttp serves an ordinary net/http handler as a Lambda function
// behind an API Gateway HTTP API (payload format 2.0).
package lambdahttp

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// Start hands h to the Lambda runtime; it never returns.
func Start(h http.Handler) {
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// Main builds a function's handler from the process environment, once per
// cold start, and serves it.
func Main(build func(context.Context, coldstart.Env) (http.Handler, error)) {
	Start(coldstart.Build(build))
}
