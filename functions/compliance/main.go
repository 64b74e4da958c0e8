// Command compliance is the compliance Lambda function (see complianceapi for its routes).
package main

import (
	"github.com/atrium-cdn/atrium/functions/compliance/complianceapi"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
)

func main() { lambdahttp.Main(complianceapi.New) }
