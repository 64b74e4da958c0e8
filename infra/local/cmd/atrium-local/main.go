// Command atrium-local runs Atrium's local stack.
//
//	atrium-local run              start everything and serve the API (make run)
//	atrium-local exec -- CMD ...  start the stand-ins on free ports, run CMD
//	                              with their addresses in the environment, stop them (make test)
//
// run's ports come from PORT (API, 3000), INTERNAL_PORT (invoked functions,
// 3001), DYNAMODB_PORT (8000), MAILPIT_PORT (8025), MAILPIT_SMTP_PORT (1025),
// SECRETS_MANAGER_PORT (4566), STRIPE_MOCK_PORT (12111), S3_PORT (a demo bucket, 9000) and
// DASHBOARD_PORT (the reference dashboard, 5173, the origin emails link to); its data is
// kept in ATRIUM_DATA_DIR (.local) between runs unless ATRIUM_FRESH=1. ATRIUM_ALLOWED_ORIGINS
// (comma-separated; default the local dashboard's, http://localhost:5173,http://127.0.0.1:5173)
// is the template's AllowedOrigins parameter: the HTTP API's CORS rules and the functions'
// ALLOWED_ORIGINS both follow it. A port in use is named with the variable that moves it.
//
// run's console shows the request lines, warnings and errors, and whatever a
// housekeeping pass did; the pass lines of a minute in which nothing happened,
// the Embedded Metric Format lines and the stand-ins' own output (kept in
// <data>/services.log) only with ATRIUM_VERBOSE=1. Ctrl-C (SIGINT) or SIGTERM
// stops everything and exits 0, also while starting.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/atrium-cdn/atrium/infra/local/dashboard"
	"github.com/atrium-cdn/atrium/infra/local/fakes3"
	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	root, err := repoRoot()
	if err != nil {
		fatal(err)
	}
	switch os.Args[1] {
	case "run":
		err = run(root)
	case "exec":
		args := os.Args[2:]
		if len(args) > 0 && args[0] == "--" {
			args = args[1:]
		}
		if len(args) == 0 {
			usage()
		}
		var code int
		code, err = execute(root, args)
		if err == nil {
			os.Exit(code)
		}
	default:
		usage()
	}
	if err != nil {
		fatal(err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: atrium-local run | atrium-local exec -- COMMAND [ARG...]")
	os.Exit(2)
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "atrium-local: %v\n", err)
	os.Exit(1)
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "template.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run me inside the Atrium checkout (no template.yaml found above here)")
		}
		dir = parent
	}
}

func portFromEnv(name string, def int) (int, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s must be a port number", name)
	}
	return p, nil
}

// errInterrupted is the cause of run's context when SIGINT or SIGTERM stops it.
var errInterrupted = errors.New("interrupted")

// notifyInterrupt returns a context cancelled with cause errInterrupted on SIGINT or SIGTERM
// (cancel it with another cause for any other reason to stop).
func notifyInterrupt() (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		select {
		case <-sigs:
			cancel(errInterrupted)
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// namedPort is a port of run and the variable that sets it.
type namedPort struct {
	env  string
	port int
}

// checkPorts fails, naming the variable that moves it, on the first port something else
// already listens on: the stand-ins would otherwise fail later with their own words.
func checkPorts(ports []namedPort) error {
	for _, p := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
		if err != nil {
			return fmt.Errorf("port %d is in use (%v): stop what listens on it, or set %s to a free port (%s=%d make run)", p.port, errors.Unwrap(err), p.env, p.env, p.port+10000)
		}
		_ = l.Close()
	}
	return nil
}

func run(root string) (err error) {
	ctx, cancel := notifyInterrupt()
	defer cancel(nil)
	stop := func() { cancel(errors.New("a server stopped")) }
	// Interrupted while starting: nothing is wrong, so no error (and no make error).
	defer func() {
		if err != nil && errors.Is(context.Cause(ctx), errInterrupted) {
			fmt.Println("atrium-local: interrupted while starting; stopped.")
			err = nil
		}
	}()
	var o stack.Options
	o.RepoRoot = root
	var apiPort, internalPort, s3Port, dashboardPort int
	var ports []namedPort
	for _, p := range []struct {
		name string
		def  int
		dst  *int
	}{
		{"PORT", 3000, &apiPort}, {"INTERNAL_PORT", 3001, &internalPort}, {"S3_PORT", 9000, &s3Port},
		{"DASHBOARD_PORT", 5173, &dashboardPort},
		{"DYNAMODB_PORT", 8000, &o.DynamoDBPort}, {"MAILPIT_PORT", 8025, &o.MailpitPort},
		{"MAILPIT_SMTP_PORT", 1025, &o.SMTPPort}, {"SECRETS_MANAGER_PORT", 4566, &o.SecretsManagerPort},
		{"STRIPE_MOCK_PORT", 12111, &o.StripePort},
	} {
		v, err := portFromEnv(p.name, p.def)
		if err != nil {
			return err
		}
		*p.dst = v
		ports = append(ports, namedPort{p.name, v})
	}
	if err := checkPorts(ports); err != nil {
		return err
	}
	verbose := os.Getenv("ATRIUM_VERBOSE") == "1"
	console := newConsole(os.Stdout, verbose)
	origins := stack.LocalDashboardOrigins()
	if v := os.Getenv("ATRIUM_ALLOWED_ORIGINS"); v != "" {
		var err error
		if origins, err = stack.ParseOrigins(v); err != nil {
			return fmt.Errorf("ATRIUM_ALLOWED_ORIGINS: %w", err)
		}
	}
	o.DataDir = os.Getenv("ATRIUM_DATA_DIR")
	if o.DataDir == "" {
		o.DataDir = filepath.Join(root, ".local")
	}
	if os.Getenv("ATRIUM_FRESH") == "1" {
		// #nosec G703 -- the developer's own data directory, named by them, on request
		if err := os.RemoveAll(o.DataDir); err != nil {
			return fmt.Errorf("wipe %s: %w", o.DataDir, err)
		}
	}
	servicesLog := "stderr"
	if verbose {
		o.Logs = os.Stderr
	} else {
		servicesLog = filepath.Join(o.DataDir, "services.log")
		// #nosec G703 -- the developer's own data directory (ATRIUM_DATA_DIR or .local)
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", o.DataDir, err)
		}
		f, err := os.OpenFile(servicesLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600) // #nosec G304 G703 -- in the developer's own data directory
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		o.Logs = f
	}
	fmt.Println("atrium-local: starting DynamoDB Local, Mailpit, stripe-mock and the Secrets Manager endpoint ...")
	svc, err := stack.StartServices(ctx, o)
	if err != nil {
		return err
	}
	defer svc.Close()
	st, err := stack.Prepare(ctx, svc, root, stack.LocalPrefix)
	if err != nil {
		return err
	}
	st.Origins = origins
	envOf := func(fn string) coldstart.Env { return st.ColdstartEnv(fn, console, nil) }
	functions, err := gateway.New(ctx, filepath.Join(root, "template.yaml"), envOf)
	if err != nil {
		return err
	}
	// API Gateway's CORS rules, read from template.yaml with this stack's parameters.
	api, err := gateway.WithCORS(functions, filepath.Join(root, "template.yaml"), st.Parameters())
	if err != nil {
		return err
	}
	internal, invoked, err := gateway.NewInternal(ctx, envOf)
	if err != nil {
		return err
	}
	// The state table's stream starts each accepted deletion, as the event
	// source mapping template.yaml declares does in AWS.
	streams, err := gateway.StartStreams(ctx, gateway.StreamOptions{RepoRoot: root, DynamoDBEndpoint: svc.DynamoDBEndpoint,
		Tables: st.Tables, Env: envOf, Logger: slog.Default()})
	if err != nil {
		return err
	}
	defer streams.Close()
	demo, err := startDemoBucket()
	if err != nil {
		return err
	}
	// The reference dashboard, on the origin the emails link to, calling
	// the API by the name the browser sees it under (same site: cookies work).
	app, err := dashboard.New(dashboard.Options{Dir: dashboard.Dir(root), API: fmt.Sprintf("http://localhost:%d", apiPort)})
	if err != nil {
		return err
	}
	var servers []*http.Server
	for _, s := range []struct {
		name, env string
		port      int
		handler   http.Handler
	}{{"API", "PORT", apiPort, api}, {"invoked functions", "INTERNAL_PORT", internalPort, internal},
		{"demo S3", "S3_PORT", s3Port, demo}, {"dashboard", "DASHBOARD_PORT", dashboardPort, app}} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err != nil {
			return fmt.Errorf("listen for the %s: %w (set %s to another port)", s.name, err, s.env)
		}
		srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				slog.Error("server stopped", "server", s.name, "error", err)
				stop()
			}
		}()
	}
	go everyMinute(ctx, invoked["housekeeping"])
	quiet := "ATRIUM_VERBOSE=1 for every line; the stand-ins' output is in " + servicesLog
	if verbose {
		quiet = "ATRIUM_VERBOSE=1: every line, and the stand-ins' output"
	}
	fmt.Printf(`atrium-local: ready (data in %s; ATRIUM_FRESH=1 starts empty)
  console                  request lines, warnings, errors, housekeeping that did something
                           (%s)
  dashboard                http://localhost:%d   (infra/dashboard/web; the emails link here)
  API                      http://127.0.0.1:%d
                           (a dashboard on localhost calls it as http://localhost:%d: same site,
                           so the browser sends the session cookie)
  allowed origins          %s
                           (CORS and cookie sessions; set ATRIUM_ALLOWED_ORIGINS to change)
  invoked functions        http://127.0.0.1:%d/2015-03-31/functions/{credentials,housekeeping}/invocations
                           (loopback only; housekeeping also runs every minute)
  deletion stream          the state table's stream, polled as Lambda does: each
                           accepted deletion starts at once (template.yaml JobAccepted)
  Mailpit (web UI + API)   %s
  Mailpit SMTP             %s:%d
  DynamoDB Local           %s   (state table %s)
  Secrets Manager          %s
  stripe-mock              %s   (key %s, price %s)
  Stripe webhook           http://127.0.0.1:%d/v1/webhooks/stripe, signing secret %s
                           send a signed test event: go run ./infra/local/cmd/stripe-event -h
  demo S3 bucket           http://127.0.0.1:%d  bucket %s, read-only keys %s / %s
Press Ctrl-C to stop everything.
`, o.DataDir, quiet, dashboardPort, apiPort, apiPort, strings.Join(origins, ", "), internalPort, svc.MailpitURL, svc.SMTPHost, svc.SMTPPort, svc.DynamoDBEndpoint,
		st.Tables["StateTable"], svc.SecretsManagerEndpoint, svc.StripeAPIURL, stack.LocalStripeKey, stack.LocalPremiumPrice,
		apiPort, stack.LocalWebhookSecret, s3Port, demoBucket, demoKeyID, demoSecret)
	<-ctx.Done()
	fmt.Println("atrium-local: stopping ...")
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	if cause := context.Cause(ctx); !errors.Is(cause, errInterrupted) {
		return cause
	}
	return nil
}

// execute starts the stand-ins in memory on free ports, runs args with their
// addresses in the environment, stops them, and returns args' exit code.
func execute(root string, args []string) (code int, err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logFile, err := os.CreateTemp("", "atrium-local-services-*.log")
	if err != nil {
		return 0, err
	}
	// The services' output is kept for a post-mortem only: removed when the
	// command succeeds, so that make test leaves nothing in the temporary directory.
	defer func() {
		_ = logFile.Close()
		if err == nil && code == 0 {
			_ = os.Remove(logFile.Name())
		} else {
			fmt.Fprintf(os.Stderr, "atrium-local: the local services' output is in %s\n", logFile.Name())
		}
	}()
	svc, err := stack.StartServices(ctx, stack.Options{RepoRoot: root, Logs: logFile})
	if err != nil {
		return 0, err
	}
	defer svc.Close()
	// #nosec G204 G702 -- running the developer's command is what exec is for
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		testenv.EnvDynamoDBEndpoint+"="+svc.DynamoDBEndpoint,
		testenv.EnvMailpitAPI+"="+svc.MailpitURL,
		testenv.EnvSMTPAddr+"="+net.JoinHostPort(svc.SMTPHost, strconv.Itoa(svc.SMTPPort)),
		testenv.EnvSecretsManagerEndpoint+"="+svc.SecretsManagerEndpoint,
		testenv.EnvRepoRoot+"="+root,
		testenv.EnvStripeAPI+"="+svc.StripeAPIURL,
		testenv.EnvRIE+"="+filepath.Join(stack.BinDir(root), "aws-lambda-rie"),
	)
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("run %s: %w", args[0], err)
	}
	return 0, nil
}

// The demo bucket stands for a customer's bucket, so a source can be
// registered locally (type s3_compatible, endpoint http://127.0.0.1:9000).
// Its keys are made up and can only read it.
const (
	demoBucket = "demo-images"
	demoKeyID  = "AKIALOCALDEMOREADER1"
	demoSecret = "local-demo-secret-not-a-real-key" // #nosec G101 -- a made-up key of the in-process demo bucket
)

func startDemoBucket() (http.Handler, error) {
	s3 := fakes3.New()
	if err := s3.CreateBucket(demoBucket); err != nil {
		return nil, err
	}
	if err := s3.PutObject(demoBucket, "hello.txt", []byte("an image CDN would fetch objects from here\n")); err != nil {
		return nil, err
	}
	s3.Grant(demoKeyID, demoBucket)
	return s3, nil
}

// everyMinute runs the housekeeping function as its schedule does in AWS.
func everyMinute(ctx context.Context, h lambda.Handler) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := h.Invoke(ctx, []byte(`{"source":"atrium-local.timer"}`)); err != nil {
				slog.Error("housekeeping failed", "error", err)
			}
		}
	}
}
