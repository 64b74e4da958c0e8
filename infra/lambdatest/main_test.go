package lambdatest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/atrium-cdn/atrium/infra/lambdatest"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// helloPkg is the hello-world baseline of the benchmarks.
const helloPkg = "./infra/lambdatest/testdata/hello"

var (
	buildsOnce sync.Once
	buildsDir  string
	builds     *lambdatest.Builds
	buildsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildsDir != "" {
		_ = os.RemoveAll(buildsDir)
	}
	os.Exit(code)
}

// sharedBuilds builds each bootstrap once per test binary run, for every
// test and benchmark of the package.
func sharedBuilds(tb testing.TB) *lambdatest.Builds {
	tb.Helper()
	root := testenv.RepoRoot(tb)
	buildsOnce.Do(func() {
		buildsDir, buildsErr = os.MkdirTemp("", "atrium-lambdatest-")
		if buildsErr == nil {
			builds = lambdatest.NewBuilds(root, buildsDir)
		}
	})
	if buildsErr != nil {
		tb.Fatal(buildsErr)
	}
	return builds
}

// deployedFunctions are the functions `make build` packages: every folder
// under functions/ with a main.go, by name.
func deployedFunctions(tb testing.TB) []string {
	tb.Helper()
	mains, err := filepath.Glob(filepath.Join(testenv.RepoRoot(tb), "functions", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		tb.Fatalf("no functions/*/main.go under the repository root (%v)", err)
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	return names
}

func functionPkg(name string) string { return fmt.Sprintf("./functions/%s", name) }
