// Command auth is the auth Lambda function (see authapi for its routes).
package main

import (
	"os"
	"runtime/debug"

	"github.com/atrium-cdn/atrium/functions/auth/authapi"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
)

// memoryLimit is a soft limit for the Go heap. Every password hash needs a
// 19 MiB argon2id buffer that is garbage a moment later; left to GOGC alone,
// the heap target doubles around a live buffer and a few dead ones pile up
// (about 80 MiB resident). The limit makes the collector reclaim them first,
// keeping a login under 64 MiB (see infra/lambdatest's BenchmarkLoginMemory).
// GOMEMLIMIT in the environment still overrides it.
const memoryLimit = 48 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	lambdahttp.Main(authapi.New)
}
