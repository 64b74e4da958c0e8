// Package lambdatest runs Atrium's functions the way AWS Lambda runs them:
// each function's `bootstrap`, built with the flags `make build` uses, under
// the AWS Lambda Runtime Interface Emulator (aws-lambda-rie), invoked with
// real-shaped API Gateway HTTP API (payload format 2.0) events.
//
// The functions' handlers are tested in-process with net/http/httptest
// elsewhere; what this package adds is proof of the parts only the Lambda
// path has: the bootstrap binary itself, its cold start from environment
// variables, the Runtime API loop (lambda.norpc), and the event/response
// translation of aws-lambda-go-api-proxy.
package lambdatest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Target is a GOOS/GOARCH pair to build a bootstrap for.
type Target struct{ GOOS, GOARCH string }

var (
	// Host is the machine running the tests: the only target the emulator can run.
	Host = Target{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	// Lambda is what template.yaml deploys (provided.al2023 on arm64).
	Lambda = Target{GOOS: "linux", GOARCH: "arm64"}
)

func (t Target) String() string { return t.GOOS + "/" + t.GOARCH }

// BuildFlags are the Makefile's LAMBDA_FLAGS: no RPC shim, reproducible
// paths, no symbol table or DWARF.
var BuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}

// buildTimeout bounds one `go build`: a cold build cache on a small machine
// takes a few minutes for the SDK-heavy functions.
const buildTimeout = 10 * time.Minute

// Build compiles the main package pkg (a path relative to the repository
// root, such as "./functions/auth") into out for target, the way `make build`
// does: CGO_ENABLED=0 and BuildFlags.
func Build(repoRoot, pkg, out string, target Target) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o750); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, goTool(), args...) // #nosec G204 -- the go tool on fixed flags, building a package of this repository
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+target.GOOS, "GOARCH="+target.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s: %w\n%s", pkg, target, err, bytes.TrimSpace(msg))
	}
	return nil
}

// Zip packs a bootstrap into a deployment zip with the repository's own
// packer, as `make build` does (`go run ./infra/zipbootstrap OUT.zip bootstrap`).
func Zip(repoRoot, bootstrap, out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "run", "./infra/zipbootstrap", out, bootstrap) // #nosec G204 -- the repository's own packer
	cmd.Dir = repoRoot
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("zipbootstrap %s: %w\n%s", bootstrap, err, bytes.TrimSpace(msg))
	}
	return nil
}

// goTool is the go command: `go test` puts its own toolchain first on PATH.
func goTool() string { return "go" }

// Builds builds each (package, target) once and hands out the same binary to
// every caller afterwards, so a test run builds each bootstrap once however
// many tests and benchmarks use it.
type Builds struct {
	RepoRoot string
	Dir      string // where the binaries go; the caller owns and removes it

	mu   sync.Mutex
	done map[string]buildResult
}

type buildResult struct {
	path string
	err  error
}

// NewBuilds builds packages of the checkout at repoRoot into dir.
func NewBuilds(repoRoot, dir string) *Builds {
	return &Builds{RepoRoot: repoRoot, Dir: dir, done: map[string]buildResult{}}
}

// Bootstrap returns the path of pkg's bootstrap built for target, building
// it on first use; a build failure fails tb (and every later caller's).
func (b *Builds) Bootstrap(tb testing.TB, pkg string, target Target) string {
	tb.Helper()
	b.mu.Lock() // one build at a time: they share the machine's cores anyway
	defer b.mu.Unlock()
	key := target.String() + " " + pkg
	r, ok := b.done[key]
	if !ok {
		name := strings.NewReplacer("/", "_", ".", "_").Replace(strings.TrimPrefix(pkg, "./"))
		r.path = filepath.Join(b.Dir, target.GOOS+"_"+target.GOARCH, name, "bootstrap")
		start := time.Now()
		r.err = Build(b.RepoRoot, pkg, r.path, target)
		if r.err == nil {
			tb.Logf("built %s for %s in %s", pkg, target, time.Since(start).Round(time.Millisecond))
		}
		b.done[key] = r
	}
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return r.path
}
