// Command housekeeping is the scheduled housekeeping Lambda function (see
// housekeepingfn), triggered by EventBridge.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/atrium-cdn/atrium/functions/housekeeping/housekeepingfn"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

func main() { lambda.Start(coldstart.Invoked(coldstart.Build(housekeepingfn.New).Run)) }
