// Command stripewebhook is the Lambda function that receives Stripe's
// webhook deliveries (see stripewebhookapi).
package main

import (
	"github.com/atrium-cdn/atrium/functions/stripewebhook/stripewebhookapi"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
)

func main() { lambdahttp.Main(stripewebhookapi.New) }
