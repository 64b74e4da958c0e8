package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runVars are run's port variables.
var runVars = []string{"PORT", "INTERNAL_PORT", "S3_PORT", "DASHBOARD_PORT", "DYNAMODB_PORT",
	"MAILPIT_PORT", "MAILPIT_SMTP_PORT", "SECRETS_MANAGER_PORT", "STRIPE_MOCK_PORT"}

// buildLocal builds atrium-local once for the test.
func buildLocal(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "atrium-local")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePorts returns n loopback ports free right now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startRun starts `atrium-local run` on free ports with its data in a temporary directory.
func startRun(t *testing.T, bin string, env ...string) (*exec.Cmd, *lockedBuffer, *lockedBuffer, chan error) {
	t.Helper()
	cmd := exec.Command(bin, "run") // #nosec G204 -- the binary this test built
	cmd.Env = append(os.Environ(), "ATRIUM_DATA_DIR="+t.TempDir())
	for i, p := range freePorts(t, len(runVars)) {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", runVars[i], p))
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd, &stdout, &stderr, done
}

func waitFor(t *testing.T, out *lockedBuffer, done chan error, text string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(out.String(), text) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("atrium-local ended (%v) before printing %q:\n%s", err, text, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s:\n%s", text, within, out.String())
		}
	}
}

func exitCode(t *testing.T, done chan error, within time.Duration) int {
	t.Helper()
	select {
	case err := <-done:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatalf("wait: %v", err)
	case <-time.After(within):
		t.Fatalf("atrium-local still running %s after the signal", within)
	}
	return -1
}

// TestRunInterrupt: Ctrl-C (SIGINT) stops `atrium-local run` with exit status 0, once ready and
// while it is still starting, so that make run ends without a make error.
func TestRunInterrupt(t *testing.T) {
	bin := buildLocal(t)
	t.Run("ready", func(t *testing.T) {
		cmd, stdout, stderr, done := startRun(t, bin)
		waitFor(t, stdout, done, "Press Ctrl-C", 2*time.Minute)
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, done, 30*time.Second); code != 0 {
			t.Errorf("exit status %d after SIGINT, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout.String(), "atrium-local: stopping") {
			t.Errorf("no 'stopping' line:\n%s", stdout)
		}
	})
	t.Run("starting", func(t *testing.T) {
		cmd, stdout, stderr, done := startRun(t, bin)
		waitFor(t, stdout, done, "atrium-local: starting", time.Minute)
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, done, 60*time.Second); code != 0 {
			t.Errorf("exit status %d after SIGINT while starting, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
}

// TestRunQuiet: without ATRIUM_VERBOSE the console holds the banner and no output of the
// stand-ins (DynamoDB Local's start-up banner goes to services.log).
func TestRunQuiet(t *testing.T) {
	bin := buildLocal(t)
	cmd, stdout, stderr, done := startRun(t, bin)
	waitFor(t, stdout, done, "Press Ctrl-C", 2*time.Minute)
	_ = cmd.Process.Signal(syscall.SIGINT)
	exitCode(t, done, 30*time.Second)
	all := stdout.String() + stderr.String()
	if strings.Contains(all, "Initializing DynamoDB Local") {
		t.Errorf("DynamoDB Local's banner on the console without ATRIUM_VERBOSE:\n%s", all)
	}
	if !strings.Contains(stdout.String(), "ATRIUM_VERBOSE=1") {
		t.Errorf("the banner does not say how to see everything:\n%s", stdout)
	}
}

// TestRunPortInUse: a port something else listens on is named with the variable that moves it,
// before anything starts.
func TestRunPortInUse(t *testing.T) {
	bin := buildLocal(t)
	for _, v := range []string{"DYNAMODB_PORT", "PORT", "STRIPE_MOCK_PORT"} {
		t.Run(v, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = l.Close() }()
			port := l.Addr().(*net.TCPAddr).Port
			_, stdout, stderr, done := startRun(t, bin, fmt.Sprintf("%s=%d", v, port))
			if code := exitCode(t, done, time.Minute); code == 0 {
				t.Fatalf("exit status 0 with port %d taken", port)
			}
			want := fmt.Sprintf("port %d is in use", port)
			if !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "set "+v+" ") {
				t.Errorf("stderr does not say %q and name %s:\n%s\nstdout:\n%s", want, v, stderr, stdout)
			}
		})
	}
}

// TestCheckPorts, without starting anything.
func TestCheckPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	taken := l.Addr().(*net.TCPAddr).Port
	free := freePorts(t, 1)[0]
	if err := checkPorts([]namedPort{{"PORT", free}}); err != nil {
		t.Errorf("free port: %v", err)
	}
	err = checkPorts([]namedPort{{"PORT", free}, {"MAILPIT_PORT", taken}})
	if err == nil || !strings.Contains(err.Error(), "set MAILPIT_PORT to a free port") {
		t.Errorf("taken port: %v, want it to name MAILPIT_PORT", err)
	}
}

// leftovers lists what is in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// runExec runs `atrium-local exec -- args...` with TMPDIR a fresh empty directory, which it returns.
func runExec(t *testing.T, bin string, args ...string) (string, int, string) {
	t.Helper()
	// Short: Chromium's socket paths under it must fit in 108 bytes.
	tmp, err := os.MkdirTemp("", "atrium-t-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	cmd := exec.Command(bin, append([]string{"exec", "--"}, args...)...) // #nosec G204 -- the binary this test built
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Dir = filepath.Join("..", "..", "..", "..") // the repository root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return tmp, code, out.String()
}

// TestExecLeavesNoTemporaryFiles: make test (atrium-local exec) leaves nothing in the temporary
// directory when the command succeeds: not the services' log, DynamoDB Local's work directory or
// Mailpit's database; the browser tests not their artifacts. A failing command keeps the services'
// log and says where it is.
func TestExecLeavesNoTemporaryFiles(t *testing.T) {
	bin := buildLocal(t)
	t.Run("success", func(t *testing.T) {
		tmp, code, out := runExec(t, bin, "true")
		if code != 0 {
			t.Fatalf("exit status %d:\n%s", code, out)
		}
		if left := leftovers(t, tmp); len(left) > 0 {
			t.Errorf("left in TMPDIR: %v", left)
		}
	})
	t.Run("failure", func(t *testing.T) {
		tmp, code, out := runExec(t, bin, "false")
		if code != 1 {
			t.Fatalf("exit status %d, want false's 1:\n%s", code, out)
		}
		left := leftovers(t, tmp)
		if len(left) != 1 || !strings.HasPrefix(left[0], "atrium-local-services-") || !strings.Contains(out, left[0]) {
			t.Errorf("left in TMPDIR: %v, want the services' log alone, named in the output:\n%s", left, out)
		}
	})
	t.Run("browsertest", func(t *testing.T) {
		tmp, code, out := runExec(t, bin, "go", "test", "-count=1", "-run", "^TestDashboard$/^Keyboard$", "./infra/dashboard/browsertest/")
		if code != 0 {
			t.Fatalf("exit status %d:\n%s", code, out)
		}
		if left := leftovers(t, tmp); len(left) > 0 {
			t.Errorf("left in TMPDIR by a passing browser test: %v", left)
		}
	})
}
