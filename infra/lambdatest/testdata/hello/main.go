// Command hello is the smallest Lambda function behind an HTTP API: the
// baseline the size and init benchmarks compare Atrium's functions with.
// It lives under testdata so ./... (tests, vet, make build) leaves it out.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		Body:       "hello\n",
	}, nil
}

func main() { lambda.Start(handle) }
