// Command credentials is the internal credentials Lambda function (see
// credentialsfn). It is invoked through the Lambda API only.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/atrium-cdn/atrium/functions/credentials/credentialsfn"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

func main() { lambda.Start(coldstart.Invoked(coldstart.Build(credentialsfn.New).Invoke)) }
