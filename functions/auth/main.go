// Command auth is the auth Lambda function (see authapi for its routes).
package main

import (
	"github.com/atrium-cdn/atrium/functions/auth/authapi"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
)

func main() { lambdahttp.Main(authapi.New) }
