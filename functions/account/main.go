// Command account is the account Lambda function (see accountapi for its routes).
package main

import (
	"github.com/atrium-cdn/atrium/functions/account/accountapi"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
)

func main() { lambdahttp.Main(accountapi.New) }
