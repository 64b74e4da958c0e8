// Command deletion is the account-deletion status function (see deletionapi).
package main

import (
	"github.com/atrium-cdn/atrium/functions/deletion/deletionapi"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
)

func main() { lambdahttp.Main(deletionapi.New) }
