// Command deletion is the account-deletion function (see deletionapi): the
// state table's stream starts each accepted deletion here, and the HTTP API
// routes the status route here; Invoke tells the two events apart.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/atrium-cdn/atrium/functions/deletion/deletionapi"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

func main() { lambda.Start(coldstart.Build(deletionapi.Build)) }
