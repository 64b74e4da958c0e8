package lambdatest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InvokePath is the emulator's invocation endpoint (the Lambda Invoke API's path).
const InvokePath = "/2015-03-31/functions/function/invocations"

// EmulatorOptions say what one emulator runs.
type EmulatorOptions struct {
	RIE       string            // path of aws-lambda-rie (testenv.RIE)
	Bootstrap string            // the function's bootstrap binary
	Name      string            // function name, for AWS_LAMBDA_FUNCTION_NAME; "function" if empty
	Env       map[string]string // the function's own variables (stack.Stack.Env), over os.Environ()
}

// Emulator is a running aws-lambda-rie serving one bootstrap on loopback
// ports of its own. Invocations are serial, as in one Lambda execution
// environment: the first one starts the bootstrap (the cold start).
type Emulator struct {
	URL string // http://127.0.0.1:P/2015-03-31/functions/function/invocations

	cmd      *exec.Cmd
	out      *output
	exited   chan struct{}
	stopOnce sync.Once

	mu          sync.Mutex
	invocations int
}

// FunctionEnv is the process environment of an emulator, and so of its
// function: os.Environ(), then what template.yaml's Globals set for every
// function in AWS (memory, timeout), then dummy AWS credentials and region
// (the local stand-ins accept any), then the function's own variables. A
// later value replaces an earlier one of the same name.
func FunctionEnv(name string, fnEnv map[string]string) []string {
	if name == "" {
		name = "function"
	}
	layers := []map[string]string{
		{
			"AWS_LAMBDA_FUNCTION_NAME":        name,
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", // template.yaml Globals.Function.MemorySize
			"AWS_LAMBDA_FUNCTION_TIMEOUT":     "10",  // template.yaml Globals.Function.Timeout
		},
		{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "lambdatest", "AWS_SECRET_ACCESS_KEY": "lambdatest"},
		fnEnv,
	}
	vars := map[string]int{}
	var env []string
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := vars[k]; ok {
			env[i] = kv
			return
		}
		vars[k] = len(env)
		env = append(env, kv)
	}
	for _, kv := range os.Environ() {
		set(kv)
	}
	for _, layer := range layers {
		for k, v := range layer {
			set(k + "=" + v)
		}
	}
	return env
}

// StartEmulator starts aws-lambda-rie for o.Bootstrap and waits until it
// accepts connections. The emulator (and with it the function) is stopped
// at tb's cleanup, or earlier by Stop.
func StartEmulator(tb testing.TB, o EmulatorOptions) *Emulator {
	tb.Helper()
	if _, err := os.Stat(o.RIE); err != nil {
		tb.Fatalf("aws-lambda-rie: %v (run `make tools`)", err)
	}
	if _, err := os.Stat(o.Bootstrap); err != nil {
		tb.Fatalf("bootstrap: %v", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		tb.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	e := &Emulator{URL: "http://" + addr + InvokePath, out: &output{}, exited: make(chan struct{})}
	e.cmd = exec.Command(o.RIE, // #nosec G204 -- the pinned emulator binary (testenv.RIE)
		"--log-level", "info", // its INIT REPORT and START/REPORT lines; not the function's LOG_LEVEL
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		o.Bootstrap)
	e.cmd.Dir = filepath.Dir(o.Bootstrap) // like /var/task
	e.cmd.Env = FunctionEnv(o.Name, o.Env)
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	e.cmd.SysProcAttr = procAttrs()
	if err := e.cmd.Start(); err != nil {
		tb.Fatalf("start aws-lambda-rie: %v", err)
	}
	go func() { _ = e.cmd.Wait(); close(e.exited) }()
	tb.Cleanup(e.Stop)

	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return e
		}
		select {
		case <-e.exited:
			tb.Fatalf("aws-lambda-rie exited before accepting connections:\n%s", e.Tail(40))
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("aws-lambda-rie not accepting connections on %s after 15s: %v\n%s", addr, err, e.Tail(40))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the emulator and the function it runs. The emulator runs the
// bootstrap in a process group of its own and kills it when told to stop
// (SIGTERM); if it does not exit in time, both groups are killed.
func (e *Emulator) Stop() {
	e.stopOnce.Do(func() {
		pid := e.cmd.Process.Pid
		runtimes := childPIDs(pid) // while the emulator lives, these ids are still its children
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-e.exited:
			return
		case <-time.After(5 * time.Second):
		}
		for _, c := range runtimes {
			_ = syscall.Kill(-c, syscall.SIGKILL)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-e.exited
	})
}

// Output is everything the emulator and the function have printed so far:
// the emulator's own log lines, START/END/REPORT lines and the function's logs.
func (e *Emulator) Output() string { return e.out.String() }

// Tail is the last n lines of Output, for failure messages.
func (e *Emulator) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(e.Output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// Report is what the emulator printed about one invocation.
type Report struct {
	// RequestID is the Lambda request id the emulator assigned (the
	// X-Amzn-RequestId header of the invocation when given, else a UUID).
	RequestID string
	// DurationMs is the REPORT line's Duration. On a cold start the
	// emulator starts timing before the runtime is ready, so it includes
	// the bootstrap's initialisation.
	DurationMs float64
	// ReportInitMs is the REPORT line's "Init Duration", printed on a cold
	// start only (HasReportInit). Beware: this emulator measures there only
	// the time to hand the init request to its runtime layer, not the init
	// itself; see InitPhaseMs.
	ReportInitMs  float64
	HasReportInit bool
	// InitPhaseMs is the init phase as the emulator's runtime layer logs it
	// ("INIT REPORT(durationMs: …)"): from starting the bootstrap until the
	// runtime first asks for an event, which is what AWS reports as Init
	// Duration. Set on a cold start only.
	InitPhaseMs float64
}

var (
	reportLine = regexp.MustCompile(`(?m)^REPORT RequestId: (\S+)\t(?:Init Duration: ([0-9.]+) ms\t)?Duration: ([0-9.]+) ms`)
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
)

// Invocation is one invocation: the emulator's HTTP answer and its report.
type Invocation struct {
	Status  int    // the emulator's HTTP status (200 unless the invoke itself failed)
	Payload []byte // the function's response payload
	Report  Report
}

var invokeClient = &http.Client{Timeout: 60 * time.Second}

// Invoke sends payload as the event of one invocation and waits for the
// emulator's REPORT line about it. requestID, when not empty, is sent as
// X-Amzn-RequestId, which the emulator adopts as the Lambda request id.
func (e *Emulator) Invoke(tb testing.TB, payload []byte, requestID string) Invocation {
	tb.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	req, err := http.NewRequest(http.MethodPost, e.URL, bytes.NewReader(payload))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if requestID != "" {
		req.Header.Set("X-Amzn-RequestId", requestID)
	}
	resp, err := invokeClient.Do(req)
	if err != nil {
		tb.Fatalf("invoke: %v\n%s", err, e.Tail(40))
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		tb.Fatalf("invoke: read response: %v", err)
	}
	e.invocations++
	inv := Invocation{Status: resp.StatusCode, Payload: body}
	// The emulator prints REPORT before it answers, but its output reaches
	// us through a pipe: wait for the line of this (the n-th) invocation.
	n := e.invocations
	out := e.waitOutput(tb, func(s string) bool { return len(reportLine.FindAllString(s, -1)) >= n },
		fmt.Sprintf("REPORT line of invocation %d", n))
	m := reportLine.FindAllStringSubmatch(out, -1)[n-1]
	inv.Report.RequestID = m[1]
	if m[2] != "" {
		inv.Report.ReportInitMs, inv.Report.HasReportInit = parseMs(tb, m[2]), true
	}
	inv.Report.DurationMs = parseMs(tb, m[3])
	if n == 1 {
		if im := initReport.FindStringSubmatch(out); im != nil {
			inv.Report.InitPhaseMs = parseMs(tb, im[1])
		}
	}
	return inv
}

func parseMs(tb testing.TB, s string) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("emulator report: %q is not a duration in ms", s)
	}
	return v
}

func (e *Emulator) waitOutput(tb testing.TB, ok func(string) bool, what string) string {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := e.Output()
		if ok(out) {
			return out
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %s from aws-lambda-rie after 10s:\n%s", what, e.Tail(40))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// output collects a child's stdout and stderr.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// childPIDs lists the processes whose parent is pid, from /proc (Linux);
// elsewhere it finds none.
func childPIDs(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var kids []int
	for _, ent := range entries {
		id, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) >= 2 {
			if ppid, err := strconv.Atoi(f[1]); err == nil && ppid == pid {
				kids = append(kids, id)
			}
		}
	}
	return kids
}
