package lambdatest

// This benchmark lives in the package itself (not lambdatest_test) because it
// needs the emulator's process id, to find the bootstrap among its children.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

const (
	loginMemTargetMiB = 64.0 // the budget: peak memory of the auth function serving logins
	loginMemGood      = 30   // successful logins
	loginMemBad       = 10   // logins with a wrong password
	loginMemPassword  = "violet-harbor-quantum-88-lantern"
	// loginMemFirstPath is answered by the router (404) without touching a
	// service, so the first invocation measures the cold start alone.
	loginMemFirstPath = "/v1/lambdatest-unrouted"
)

// loginMemEnv lifts the auth function's rate limits and failure delays, so
// that forty logins from one address in a few seconds are all answered.
var loginMemEnv = map[string]string{
	"RATE_LIMIT_LOGIN":    "100000",
	"RATE_LIMIT_SIGNUP":   "100000",
	"RATE_LIMIT_VERIFY":   "100000",
	"RATE_LIMIT_PASSWORD": "100000",
	"LOGIN_FREE_FAILURES": "20",
}

// BenchmarkLoginMemory measures the peak memory of the auth function's real
// bootstrap (host build, `make build` flags) serving logins under
// aws-lambda-rie, against the budget "peak memory of a login ≤ 64 MiB".
//
// The bootstrap's peak resident set (VmHWM of /proc/PID/status) is read after
// its cold start and a first request that touches no service, after an
// account is created (signup, the emailed token, verify), and after 30
// successful logins and 10 with a wrong password, interleaved. Reported:
// peak-RSS-MiB (VmHWM at the end), init-RSS-MiB (VmHWM after the first
// request), login-delta-MiB (their difference: what creating the account and
// the logins added), account-RSS-MiB (VmHWM once the account exists) and
// end-RSS-MiB (VmRSS at the end). It only reports; it fails when a request
// is not answered as expected, or when the bootstrap was restarted on the way.
//
// Each call of the function is one measurement of a fresh process, whatever
// b.N is: run it with -benchtime 1x.
func BenchmarkLoginMemory(b *testing.B) {
	rie := testenv.RIE(b)
	st := testenv.NewStack(b)
	boot := NewBuilds(testenv.RepoRoot(b), b.TempDir()).Bootstrap(b, "./functions/auth", Host)
	env := st.Env("auth")
	for k, v := range loginMemEnv {
		env[k] = v
	}
	e := StartEmulator(b, EmulatorOptions{RIE: rie, Bootstrap: boot, Name: "atrium-auth", Env: env})
	defer e.Stop()

	// The first invocation starts the bootstrap.
	if res := e.InvokeHTTP(b, HTTPRequest{Method: http.MethodGet, Path: loginMemFirstPath}); res.StatusCode != http.StatusNotFound {
		b.Fatalf("GET %s: status %d, want 404; body %s", loginMemFirstPath, res.StatusCode, res.Body)
	}
	pid := loginMemBootstrapPID(b, e, boot)
	afterInit := loginMemStatus(b, pid)

	email := testenv.Email(b)
	creds := func(pw string) string { return loginMemJSON(b, map[string]string{"email": email, "password": pw}) }
	loginMemExpect(b, e, loginMemPost("/v1/signup", loginMemJSON(b, map[string]string{"email": email})), http.StatusAccepted)
	token := testenv.LinkToken(b, testenv.WaitForMails(b, email, 1)[0])
	loginMemExpect(b, e, loginMemPost("/v1/signup/verify", loginMemJSON(b, map[string]string{"token": token, "password": loginMemPassword})), http.StatusCreated)
	afterAccount := loginMemStatus(b, pid)

	good, bad := 0, 0
	for i := range loginMemGood + loginMemBad {
		if i%4 == 3 { // every fourth: 10 of 40
			res := loginMemExpect(b, e, loginMemPost("/v1/login", creds("wrong-"+loginMemPassword)), http.StatusUnauthorized)
			var p struct {
				Code string `json:"code"`
			}
			if err := json.Unmarshal(res.BodyBytes(b), &p); err != nil || p.Code != "invalid_credentials" {
				b.Fatalf("login %d with a wrong password: body %s, want the problem invalid_credentials", i+1, res.Body)
			}
			bad++
			continue
		}
		res := loginMemExpect(b, e, loginMemPost("/v1/login", creds(loginMemPassword)), http.StatusOK)
		var s struct {
			Session struct {
				Token string `json:"token"`
			} `json:"session"`
		}
		if err := json.Unmarshal(res.BodyBytes(b), &s); err != nil || s.Session.Token == "" {
			b.Fatalf("login %d: no session token in %s", i+1, res.Body)
		}
		good++
	}
	if good != loginMemGood || bad != loginMemBad {
		b.Fatalf("%d good and %d bad logins, want %d and %d", good, bad, loginMemGood, loginMemBad)
	}
	// Still the process measured at the start: a restarted bootstrap would
	// have begun a new VmHWM.
	if now := loginMemBootstrapPID(b, e, boot); now != pid {
		b.Fatalf("the bootstrap was restarted (pid %d, then %d):\n%s", pid, now, e.Tail(40))
	}
	end := loginMemStatus(b, pid)
	e.Stop()

	const kib = 1024.0
	peak, initPeak := float64(end.hwmKiB)/kib, float64(afterInit.hwmKiB)/kib
	verdict := fmt.Sprintf("≤ %.0f MiB ok", loginMemTargetMiB)
	if peak > loginMemTargetMiB {
		verdict = fmt.Sprintf("> %.0f MiB OVER", loginMemTargetMiB)
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "auth bootstrap, after\tVmHWM MiB\tVmRSS MiB\t\n")
	fmt.Fprintf(tw, "cold start + a first request\t%.1f\t%.1f\t\n", initPeak, float64(afterInit.rssKiB)/kib)
	fmt.Fprintf(tw, "signup + verify\t%.1f\t%.1f\t\n", float64(afterAccount.hwmKiB)/kib, float64(afterAccount.rssKiB)/kib)
	fmt.Fprintf(tw, "%d logins + %d wrong passwords\t%.1f\t%.1f\t\n", loginMemGood, loginMemBad, peak, float64(end.rssKiB)/kib)
	_ = tw.Flush()
	fmt.Printf("\nPeak memory of the auth function serving logins (%s build under aws-lambda-rie, /proc/PID/status):\n%s"+
		"peak %.1f MiB (target ≤ %.0f MiB: %s), of which %.1f MiB after init; logins and signup added %.1f MiB\n\n",
		Host, table.String(), peak, loginMemTargetMiB, verdict, initPeak, peak-initPeak)

	b.ReportMetric(0, "ns/op") // one process's lifetime, not a time per operation
	b.ReportMetric(peak, "peak-RSS-MiB")
	b.ReportMetric(initPeak, "init-RSS-MiB")
	b.ReportMetric(peak-initPeak, "login-delta-MiB")
	b.ReportMetric(float64(afterAccount.hwmKiB)/kib, "account-RSS-MiB")
	b.ReportMetric(float64(end.rssKiB)/kib, "end-RSS-MiB")
}

func loginMemPost(path, body string) HTTPRequest {
	return HTTPRequest{Method: http.MethodPost, Path: path, Body: body,
		Headers: map[string]string{"content-type": "application/json"}}
}

func loginMemJSON(tb testing.TB, v any) string {
	tb.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(j)
}

// loginMemExpect invokes the function with r and fails tb unless it answers
// with status.
func loginMemExpect(tb testing.TB, e *Emulator, r HTTPRequest, status int) HTTPResult {
	tb.Helper()
	res := e.InvokeHTTP(tb, r)
	if res.StatusCode != status {
		tb.Fatalf("%s %s: status %d, want %d; body %s\n%s", r.Method, r.Path, res.StatusCode, status, res.Body, e.Tail(20))
	}
	return res
}

// loginMemBootstrapPID is the process id of the emulator's child running
// bootstrap (the emulator starts it at the first invocation).
func loginMemBootstrapPID(tb testing.TB, e *Emulator, bootstrap string) int {
	tb.Helper()
	want, err := filepath.EvalSymlinks(bootstrap)
	if err != nil {
		tb.Fatal(err)
	}
	var found []int
	kids := childPIDs(e.cmd.Process.Pid)
	for _, pid := range kids {
		if exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); err == nil && exe == want {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		tb.Fatalf("want one child of the emulator (pid %d) running %s, found %v among its children %v",
			e.cmd.Process.Pid, want, found, kids)
	}
	return found[0]
}

// loginMemProc is what /proc/PID/status says of a process's memory, in KiB.
type loginMemProc struct{ hwmKiB, rssKiB int64 }

// loginMemStatus reads VmHWM (the peak resident set) and VmRSS of pid.
func loginMemStatus(tb testing.TB, pid int) loginMemProc {
	tb.Helper()
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		tb.Fatalf("bootstrap memory: %v", err)
	}
	var p loginMemProc
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		var dst *int64
		switch name {
		case "VmHWM":
			dst = &p.hwmKiB
		case "VmRSS":
			dst = &p.rssKiB
		}
		if !ok || dst == nil {
			continue
		}
		f := strings.Fields(value) // "  12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			tb.Fatalf("/proc/%d/status: unexpected %s line %q", pid, name, sc.Text())
		}
		if *dst, err = strconv.ParseInt(f[0], 10, 64); err != nil {
			tb.Fatalf("/proc/%d/status: %s: %v", pid, name, err)
		}
		seen++
	}
	if seen != 2 {
		tb.Fatalf("/proc/%d/status has no VmHWM and VmRSS lines (Linux only):\n%s", pid, status)
	}
	return p
}
