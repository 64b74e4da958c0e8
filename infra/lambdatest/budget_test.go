package lambdatest_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/lambdatest"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// Budgets that hold whatever the machine: sizes and allocations are the
// same on every run of one toolchain, so these are ordinary tests, not
// timed ones (timing is for the benchmarks).

// zipOverBudget are the functions allowed over zipLimit-zipMargin, each with
// the ceiling it may not pass (so it cannot grow unnoticed). auth links
// go-webauthn (passkeys: about 0.95 MB of zip, its attestation formats
// included) and zxcvbn's word lists (about 0.5 MB); see README.md,
// Benchmarks. An entry leaves this map when its function fits.
var zipOverBudget = map[string]int64{
	"auth": 5.5 * (1 << 20),
}

// checkZipBudget zips the bootstrap of function name as `make build` does
// and fails t when the zip leaves less than zipMargin of zipLimit free (or
// passes its ceiling in zipOverBudget). TestSAMPackaging calls it on the
// bootstraps it builds, so the check costs one zip per function.
func checkZipBudget(t *testing.T, name, bootstrap string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".zip")
	if err := lambdatest.Zip(testenv.RepoRoot(t), bootstrap, out); err != nil {
		t.Fatal(err)
	}
	size := fileSize(t, out)
	limit, why := int64(zipLimit-zipMargin), "4 MiB less the 256 KiB kept free"
	if ceiling, ok := zipOverBudget[name]; ok {
		limit, why = ceiling, "its ceiling in zipOverBudget"
	}
	if size > limit {
		t.Errorf("%s: deployment zip %d bytes (%.2f MiB, %d KiB spare of 4 MiB), over %d bytes (%s); "+
			"`go run ./infra/local/cmd/atrium-local exec -- go test -run '^$' -bench ZipSize -benchtime 1x ./infra/lambdatest/` "+
			"shows every function", name, size, float64(size)/mib, (zipLimit-size)/1024, limit, why)
	}
}

// onlyIn are module paths (prefixes) that only the named functions may
// link: each is large, or expensive to start, and serves only them.
var onlyIn = map[string][]string{
	"github.com/go-webauthn/":     {"auth"}, // passkey ceremonies (shared/passkeys/ceremony)
	"github.com/trustelem/zxcvbn": {"auth"}, // the password policy's strength estimate
}

// TestHeavyDependenciesStayWhereUsed: a function that only reads passkeys
// (a step-up check, the export, the deletion) does not link go-webauthn,
// and only the function that sets passwords links zxcvbn.
func TestHeavyDependenciesStayWhereUsed(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, name := range deployedFunctions(t) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "go", "list", "-deps", functionPkg(name)) // #nosec G204 -- the go tool listing a package of this repository
		cmd.Dir = root
		cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0", "GOOS="+lambdatest.Lambda.GOOS, "GOARCH="+lambdatest.Lambda.GOARCH)
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", functionPkg(name), err)
		}
		for prefix, allowed := range onlyIn {
			if strings.Contains(string(out), "\n"+prefix) && !slices.Contains(allowed, name) {
				t.Errorf("%s links %s…, which only %v may", name, prefix, allowed)
			}
		}
	}
}

// maxInitBytes is the most any one package initialiser of a function may
// allocate. The SDK's DynamoDB schemas are the largest left (about 0.6 MB).
const maxInitBytes = 1 << 20

// initOverBudget are the packages allowed over maxInitBytes, each with the
// ceiling it may not pass. zxcvbn's frequency package holds its word lists
// as one map literal, built by its initialiser (1524112 bytes, 8 allocs, on
// go1.26 linux/amd64); the password policy's strength estimate
// (shared/password/strength) ranks them on first use, so zxcvbn's matching
// package, which ranked them in package variables (about 10 MB and 20 ms of
// auth's cold start), is no longer linked. An entry leaves this map when its
// package fits.
var initOverBudget = map[string]int64{
	"github.com/trustelem/zxcvbn/frequency": 2 << 20,
}

// TestNoExpensivePackageInit starts every function's bootstrap (host build)
// with GODEBUG=inittrace=1 and no configuration, so it stops right after
// its package initialisers, and fails when one of them allocates more than
// maxInitBytes: what only some routes need is built on first use, not in a
// package initialiser (DESIGN.md).
func TestNoExpensivePackageInit(t *testing.T) {
	bs := sharedBuilds(t)
	for _, name := range deployedFunctions(t) {
		boot := bs.Bootstrap(t, functionPkg(name), lambdatest.Host)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, boot) // #nosec G204 -- a bootstrap this test built
		cmd.Env = []string{"GODEBUG=inittrace=1"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		_ = cmd.Run() // it refuses to start without configuration: expected
		cancel()
		inits, err := parseInitTrace(stderr.String())
		if err != nil || len(inits) == 0 {
			t.Fatalf("%s: no init trace (%v):\n%s", name, err, stderr.String())
		}
		for _, in := range inits {
			if ceiling, ok := initOverBudget[in.pkg]; ok {
				if in.bytes > ceiling {
					t.Errorf("%s: package %s allocates %d bytes in its initialisers, over its ceiling %d", name, in.pkg, in.bytes, ceiling)
				}
				continue
			}
			if in.bytes > maxInitBytes {
				t.Errorf("%s: package %s allocates %d bytes in its initialisers (at most %d): build it on first use",
					name, in.pkg, in.bytes, maxInitBytes)
			}
		}
	}
}

type initCost struct {
	pkg   string
	bytes int64
}

// parseInitTrace reads the runtime's lines
// "init <package> @<t> ms, <clock> ms clock, <bytes> bytes, <allocs> allocs".
func parseInitTrace(trace string) ([]initCost, error) {
	var out []initCost
	sc := bufio.NewScanner(strings.NewReader(trace))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		n, err := strconv.ParseInt(f[7], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("init trace line %q: %w", sc.Text(), err)
		}
		out = append(out, initCost{pkg: f[1], bytes: n})
	}
	return out, sc.Err()
}
