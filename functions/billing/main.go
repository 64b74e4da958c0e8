// Command billing is the billing Lambda function (see billingapi for its routes).
package main

import (
	"github.com/atrium-cdn/atrium/functions/billing/billingapi"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
)

func main() { lambdahttp.Main(billingapi.New) }
