package lambdatest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/atrium-cdn/atrium/infra/lambdatest"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// These benchmarks report; they never fail on the numbers. The targets in
// their tables are the project's budgets, shown for the reader (the zip
// budget is also a test: TestZipBudget).
const (
	zipLimit       = 4 << 20   // deployment zip per function: Atrium's ceiling
	zipMargin      = 256 << 10 // kept free under it for the next dependencies
	initTargetX    = 1.5       // cold-start init, times hello-world's
	initRounds     = 7         // fresh emulator starts per function
	hello          = "hello"
	mib            = 1 << 20
	initBenchRoute = "/v1/lambdatest-unrouted" // answered by every router without touching a service
)

type benchTarget struct{ name, pkg string }

// benchTargets are every deployed function and the hello-world baseline, last.
func benchTargets(tb testing.TB) []benchTarget {
	var ts []benchTarget
	for _, name := range deployedFunctions(tb) {
		ts = append(ts, benchTarget{name, functionPkg(name)})
	}
	return append(ts, benchTarget{hello, helloPkg})
}

// report puts each function's metrics on b itself, as "<function>-<unit>",
// with the meaningless time per op suppressed.
//
// Not as sub-benchmarks: a benchmark that calls b.Run is run once, whatever
// -count says (testing repeats only benchmarks without sub-benchmarks), and
// its sub-benchmarks would then repeat the one measurement -count times.
// Reported on b, each of -count's runs measures again.
func report(b *testing.B, targets []benchTarget, metrics func(name string) map[string]float64) {
	b.ReportMetric(0, "ns/op")
	for _, t := range targets {
		for unit, v := range metrics(t.name) {
			b.ReportMetric(v, t.name+"-"+unit)
		}
	}
}

// BenchmarkZipSize builds every function's deployment artifact as `make
// build` does (linux/arm64, CGO off, -tags lambda.norpc, -trimpath, -s -w,
// zipped by infra/zipbootstrap), and a hello-world Lambda the same way, and
// reports their sizes against the 4 MiB ceiling (and the 256 KiB kept free
// under it) and hello's.
func BenchmarkZipSize(b *testing.B) {
	bs := sharedBuilds(b)
	root := testenv.RepoRoot(b)
	zips := filepath.Join(bs.Dir, "zips")
	if err := os.MkdirAll(zips, 0o750); err != nil {
		b.Fatal(err)
	}
	type size struct{ bin, zip int64 }
	sizes := map[string]size{}
	targets := benchTargets(b)
	for _, t := range targets {
		boot := bs.Bootstrap(b, t.pkg, lambdatest.Lambda)
		out := filepath.Join(zips, t.name+".zip")
		_ = os.Remove(out)
		if err := lambdatest.Zip(root, boot, out); err != nil {
			b.Fatal(err)
		}
		sizes[t.name] = size{bin: fileSize(b, boot), zip: fileSize(b, out)}
	}

	base := float64(sizes[hello].zip)
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "function\tbinary MiB\tzip MiB\tzip bytes\tspare KiB (vs 4 MiB)\ttarget\tzip vs hello\t\n")
	for _, t := range targets {
		s := sizes[t.name]
		verdict := "spare ≥ 256 KiB ok"
		if s.zip > zipLimit-zipMargin {
			verdict = "spare < 256 KiB OVER"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%d\t%d\t%s\t%.2f×\t\n", t.name, float64(s.bin)/mib, float64(s.zip)/mib, s.zip,
			(zipLimit-s.zip)/1024, verdict, float64(s.zip)/base)
	}
	_ = tw.Flush()
	fmt.Printf("\nDeployment artifacts (%s, %s, zipped by infra/zipbootstrap):\n%s\n",
		lambdatest.Lambda, strings.Join(lambdatest.BuildFlags, " "), table.String())

	report(b, targets, func(name string) map[string]float64 {
		s := sizes[name]
		return map[string]float64{
			"zip-bytes": float64(s.zip),
			"spare-KiB": float64(zipLimit-s.zip) / 1024,
			"x-hello":   float64(s.zip) / base,
		}
	})
}

func fileSize(tb testing.TB, path string) int64 {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkInitDuration measures every function's cold start under the
// emulator (host build, the local stack's environment, so the auth function
// reads its SMTP secret from the local Secrets Manager), and hello-world's.
// Each round starts a fresh emulator per function, in a rotating order so
// the machine's noise falls on all alike, and invokes it once; every run of
// -count measures again (the builds are shared).
//
// The init time used is the emulator's "INIT REPORT(durationMs: …)": from
// starting the bootstrap until it first asks for an event, what AWS reports
// as Init Duration. The REPORT line's own "Init Duration" is shown beside it:
// this emulator times there only the hand-off of the init request, so it
// stays near zero whatever the function does.
func BenchmarkInitDuration(b *testing.B) {
	rie := testenv.RIE(b)
	st := testenv.NewStack(b)
	bs := sharedBuilds(b)
	targets := benchTargets(b)
	boots := map[string]string{}
	for _, t := range targets {
		boots[t.name] = bs.Bootstrap(b, t.pkg, lambdatest.Host)
	}
	event, err := json.Marshal(lambdatest.HTTPRequest{Method: http.MethodGet, Path: initBenchRoute}.Event())
	if err != nil {
		b.Fatal(err)
	}

	type samples struct{ init, reportInit, firstInvoke []float64 }
	got := map[string]*samples{}
	for _, t := range targets {
		got[t.name] = &samples{}
	}
	for round := range initRounds {
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			e := lambdatest.StartEmulator(b, lambdatest.EmulatorOptions{
				RIE: rie, Bootstrap: boots[t.name], Name: "atrium-" + t.name, Env: st.Env(t.name),
			})
			inv := e.Invoke(b, event, "")
			e.Stop()
			if inv.Status != http.StatusOK || strings.Contains(string(inv.Payload), `"errorType":"Runtime.`) {
				b.Fatalf("%s: cold start failed: %d %s\n%s", t.name, inv.Status, inv.Payload, e.Tail(30))
			}
			if inv.Report.InitPhaseMs == 0 || !inv.Report.HasReportInit {
				b.Fatalf("%s: no init report from the emulator:\n%s", t.name, e.Tail(30))
			}
			s := got[t.name]
			s.init = append(s.init, inv.Report.InitPhaseMs)
			s.reportInit = append(s.reportInit, inv.Report.ReportInitMs)
			s.firstInvoke = append(s.firstInvoke, inv.Report.DurationMs)
		}
	}

	base := median(got[hello].init)
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "function\tinit ms (median)\tmin\tmax\tinit vs hello\ttarget\tfirst invoke ms\tREPORT \"Init Duration\" ms\t\n")
	for _, t := range targets {
		s := got[t.name]
		m := median(s.init)
		verdict := fmt.Sprintf("≤ %.1f× ok", initTargetX)
		if m/base > initTargetX {
			verdict = fmt.Sprintf("> %.1f× OVER", initTargetX)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.2f×\t%s\t%.1f\t%.2f\t\n", t.name, m, slices.Min(s.init), slices.Max(s.init),
			m/base, verdict, median(s.firstInvoke), median(s.reportInit))
	}
	_ = tw.Flush()
	fmt.Printf("\nCold start under aws-lambda-rie (%s build, %d fresh starts each, medians):\n%s\n",
		lambdatest.Host, initRounds, table.String())

	report(b, targets, func(name string) map[string]float64 {
		s := got[name]
		return map[string]float64{
			"init-ms":         median(s.init),
			"x-hello":         median(s.init) / base,
			"first-invoke-ms": median(s.firstInvoke),
		}
	})
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
