// Command sources is the sources Lambda function (see sourcesapi for its routes).
package main

import (
	"github.com/atrium-cdn/atrium/functions/sources/sourcesapi"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
)

func main() { lambdahttp.Main(sourcesapi.New) }
