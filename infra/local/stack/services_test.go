package stack_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// freePort returns a loopback port free at the time of asking.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func portOf(t *testing.T, rawURL string) int {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("%s has no port", rawURL)
	}
	return p
}

// startServices starts a set of services of the test's own, on free ports
// (all chosen here, so the test knows each), keeping data in dataDir ("" =
// in memory), and stops them when the test ends.
func startServices(t *testing.T, dataDir string) (*stack.Services, stack.Options) {
	t.Helper()
	svc, o, err := tryStart(t, dataDir, &testenv.LogBuffer{}, 0)
	if err != nil {
		t.Fatalf("start the services: %v", err)
	}
	return svc, o
}

func tryStart(t *testing.T, dataDir string, logs *testenv.LogBuffer, stripePort int) (*stack.Services, stack.Options, error) {
	t.Helper()
	o := stack.Options{RepoRoot: testenv.RepoRoot(t), DataDir: dataDir, Logs: logs,
		DynamoDBPort: freePort(t), MailpitPort: freePort(t), SMTPPort: freePort(t), SecretsManagerPort: freePort(t),
		StripePort: stripePort, StripeHTTPSPort: freePort(t)}
	if o.StripePort == 0 {
		o.StripePort = freePort(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	svc, err := stack.StartServices(ctx, o)
	if err == nil {
		t.Cleanup(svc.Close)
	}
	return svc, o, err
}

// createCustomer creates a customer with the address at stripe-mock, as
// the billing function does.
func createCustomer(t *testing.T, apiURL, email string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, apiURL+"/v1/customers",
		strings.NewReader(url.Values{"email": {email}, "metadata[account_id]": {"acct_local"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(stack.LocalStripeKey, "")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create a customer at stripe-mock: status %d", resp.StatusCode)
	}
}

// TestStripeMockRequestsAreNotLogged: stripe-mock prints each request's
// parameters; a customer's email must not reach the services' output
// (`make run` shows it on the console). What stops stripe-mock from
// starting still does.
func TestStripeMockRequestsAreNotLogged(t *testing.T) {
	logs := &testenv.LogBuffer{}
	svc, _, err := tryStart(t, "", logs, 0)
	if err != nil {
		t.Fatal(err)
	}
	email := testenv.Email(t)
	createCustomer(t, svc.StripeAPIURL, email)
	svc.Close() // every child has exited: its output is all in logs
	out := logs.String()
	if !strings.Contains(out, "DynamoDB Local") {
		t.Fatalf("the services' output holds nothing of DynamoDB Local's start: the check would prove nothing:\n%s", out)
	}
	local, _, _ := strings.Cut(email, "@")
	if strings.Contains(out, local) {
		t.Errorf("the services' output holds the customer's address %s:\n%s", email, out)
	}

	t.Run("a startup error is still shown", func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = busy.Close() }()
		logs := &testenv.LogBuffer{}
		_, _, err = tryStart(t, "", logs, busy.Addr().(*net.TCPAddr).Port)
		if err == nil {
			t.Fatal("the services started though stripe-mock's port is taken")
		}
		if !strings.Contains(err.Error(), "stripe-mock") || !strings.Contains(logs.String(), "address already in use") {
			t.Errorf("error %q and output %q: want stripe-mock named and its reason shown", err, logs.String())
		}
	})
}

// TestDataDirectoryIsPrivate: Mailpit's database holds the emails (reset
// links among them), DynamoDB Local's the tables: what the stack keeps in
// its data directory is its owner's only — the directory and every
// directory in it 0700, every file without group or other bits — also when
// an earlier run left the directory and Mailpit's database world-readable.
func TestDataDirectoryIsPrivate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"a new directory", func(*testing.T, string) {}},
		{"left readable by an earlier run", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "dynamodb"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{dir, filepath.Join(dir, "dynamodb")} {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "mailpit.db"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, "mailpit.db"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			tt.setup(t, dir)
			svc, _ := startServices(t, dir)
			// Put something in each store: a table, a secret, an email.
			st, err := stack.Prepare(context.Background(), svc, testenv.RepoRoot(t), "perm")
			if err != nil {
				t.Fatal(err)
			}
			to := testenv.Email(t)
			msg := "From: " + stack.LocalMailFrom + "\r\nTo: " + to + "\r\nSubject: Reset your password\r\n\r\nhttp://localhost:5173/reset#token\r\n"
			if err := smtp.SendMail(net.JoinHostPort(st.SMTPHost, strconv.Itoa(st.SMTPPort)), nil, stack.LocalMailFrom, []string{to}, []byte(msg)); err != nil {
				t.Fatalf("send a mail to Mailpit: %v", err)
			}
			svc.Close() // everything flushed to disk

			files := 0
			err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				mode := info.Mode().Perm()
				switch {
				case d.IsDir() && mode != 0o700:
					t.Errorf("directory %s has mode %#o, want 0700", path, mode)
				case !d.IsDir() && mode&0o077 != 0:
					t.Errorf("file %s has mode %#o: readable beyond its owner", path, mode)
				}
				if !d.IsDir() {
					files++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"mailpit.db", "secretsmanager.json"} {
				if _, err := os.Stat(filepath.Join(dir, want)); errors.Is(err, fs.ErrNotExist) {
					t.Errorf("no %s in the data directory: the check would prove nothing", want)
				}
			}
			if entries, _ := os.ReadDir(filepath.Join(dir, "dynamodb")); len(entries) == 0 {
				t.Error("DynamoDB Local left nothing in the data directory: the check would prove nothing")
			}
			t.Logf("%d files checked", files)
		})
	}
}
