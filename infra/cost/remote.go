package cost

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"time"
)

// The proxies run in a process of their own, so that their work is not
// counted in the CPU time the harness measures for the functions: the test
// binary starts itself again with EnvProxy set (see RunProxyIfAsked).

// EnvProxy holds the ProxyConfig (JSON) of a proxy process.
const EnvProxy = "ATRIUM_COST_PROXY"

// ProxyConfig says where the real services are.
type ProxyConfig struct {
	DynamoDB, SecretsManager, Stripe string
	Indexes                          map[string][]Index
}

// Endpoints are where a proxy process listens.
type Endpoints struct {
	DynamoDB, SecretsManager, Stripe, Control string
}

// RunProxyIfAsked runs the proxies and exits when the process was started
// as a proxy process (EnvProxy set); otherwise it returns at once. A test
// binary's TestMain calls it first.
func RunProxyIfAsked() {
	raw := os.Getenv(EnvProxy)
	if raw == "" {
		return
	}
	if err := runProxies(raw, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cost proxy:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runProxies(raw string, stdin io.Reader, stdout io.Writer) error {
	var cfg ProxyConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return fmt.Errorf("read %s: %w", EnvProxy, err)
	}
	counters := &Counters{}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}}
	serve := func(h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		return "http://" + ln.Addr().String(), nil
	}
	proxy := func(service, upstream string) (string, error) {
		u, err := url.Parse(upstream)
		if err != nil {
			return "", fmt.Errorf("%s upstream %q: %w", service, upstream, err)
		}
		return serve(&Proxy{Service: service, Upstream: u, Counters: counters, Indexes: cfg.Indexes, Client: client})
	}
	var ep Endpoints
	var err error
	if ep.DynamoDB, err = proxy("dynamodb", cfg.DynamoDB); err != nil {
		return err
	}
	if ep.SecretsManager, err = proxy("secretsmanager", cfg.SecretsManager); err != nil {
		return err
	}
	if ep.Stripe, err = proxy("stripe", cfg.Stripe); err != nil {
		return err
	}
	if ep.Control, err = serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(counters.Snapshot())
	})); err != nil {
		return err
	}
	if err := json.NewEncoder(stdout).Encode(ep); err != nil {
		return err
	}
	// Until the parent goes away.
	_, _ = io.Copy(io.Discard, stdin)
	return nil
}

// Remote is a running proxy process.
type Remote struct {
	Endpoints
	cmd   *exec.Cmd
	stdin io.Closer
}

// StartProxy starts the running test binary again as a proxy process in
// front of the services in cfg.
func StartProxy(ctx context.Context, cfg ProxyConfig) (*Remote, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	// #nosec G204 G702 -- the running test binary, started again
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), EnvProxy+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the proxy process: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("the proxy process did not say where it listens: %w", err)
	}
	r := &Remote{cmd: cmd, stdin: stdin}
	if err := json.Unmarshal(line, &r.Endpoints); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("the proxy process's endpoints %q: %w", line, err)
	}
	return r, nil
}

// Counters reads the proxy process's counters.
func (r *Remote) Counters(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.Control, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the proxy's counters: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var m map[string]float64
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("read the proxy's counters: %w", err)
	}
	if m == nil {
		m = map[string]float64{}
	}
	return m, nil
}

// Close ends the proxy process and waits for it.
func (r *Remote) Close() error {
	_ = r.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		return errors.New("the proxy process did not stop; killed")
	}
}
