package password

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// firstCheckEnv makes the test binary, started by
// BenchmarkPolicyCheckFirstUse, time the first policy checks of its process
// and print them instead of running the tests (TestMain).
const firstCheckEnv = "ATRIUM_PASSWORD_FIRST_CHECK"

// firstCheckPassword is a typical acceptable passphrase.
const firstCheckPassword = "correct horse battery staple orbit"

func TestMain(m *testing.M) {
	if os.Getenv(firstCheckEnv) == "1" {
		os.Exit(firstChecks())
	}
	os.Exit(m.Run())
}

// firstChecks times this process's first three policy checks, the first
// of which builds the strength estimate's word index, and prints the first
// and the third; it returns the process's exit code.
func firstChecks() int {
	p := DefaultPolicy()
	var ns [3]int64
	for i := range ns {
		start := time.Now()
		if err := p.Check(firstCheckPassword, "jane.doe@example.com"); err != nil {
			fmt.Fprintln(os.Stderr, "policy check:", err)
			return 1
		}
		ns[i] = time.Since(start).Nanoseconds()
	}
	fmt.Printf("first-check-ns %d later-check-ns %d\n", ns[0], ns[2])
	return 0
}

// BenchmarkPolicyCheckFirstUse measures what the first request that sets a
// password pays in a fresh process beyond a later one: the strength
// estimate's ranked dictionaries are built then, once per process, rather
// than at every cold start (package strength), plus the first use's cache
// misses. Each iteration starts this test binary anew in its child mode
// (TestMain, firstChecks), which times its first Check and its third; the
// medians are reported as first-ms and later-ms.
func BenchmarkPolicyCheckFirstUse(b *testing.B) {
	var first, later []float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0]) // #nosec G204 -- this test binary, in its child mode
		cmd.Env = append(os.Environ(), firstCheckEnv+"=1")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		var f, l int64
		i := strings.Index(string(out), "first-check-ns")
		if i < 0 {
			b.Fatalf("child printed no timing:\n%s", out)
		}
		if _, err := fmt.Sscanf(string(out[i:]), "first-check-ns %d later-check-ns %d", &f, &l); err != nil {
			b.Fatalf("child's timing: %v\n%s", err, out)
		}
		first, later = append(first, float64(f)/1e6), append(later, float64(l)/1e6)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(medianOf(first), "first-ms")
	b.ReportMetric(medianOf(later), "later-ms")
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
