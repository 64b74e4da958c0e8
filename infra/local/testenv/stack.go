package testenv

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/shared/ids"
)

// Services returns the running stand-ins named by the environment.
func Services(t testing.TB) *stack.Services {
	t.Helper()
	host, port, err := net.SplitHostPort(SMTPAddr(t))
	if err != nil {
		t.Fatalf("%s: %v", EnvSMTPAddr, err)
	}
	p, _ := strconv.Atoi(port)
	return &stack.Services{
		DynamoDBEndpoint:       DynamoDBEndpoint(t),
		MailpitURL:             MailpitURL(t),
		SMTPHost:               host,
		SMTPPort:               p,
		SecretsManagerEndpoint: SecretsManagerEndpoint(t),
		StripeAPIURL:           StripeAPIURL(t),
	}
}

// NewStack prepares a stack of its own for the calling test: fresh tables
// from template.yaml under a unique prefix (so tests never see each other's
// data) and the seeded SMTP secret, on the shared running services.
func NewStack(t testing.TB) *stack.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := "t" + strings.TrimPrefix(ids.New("x"), "x_")[:12]
	st, err := stack.Prepare(ctx, Services(t), RepoRoot(t), prefix)
	if err != nil {
		t.Fatalf("prepare local stack: %v", err)
	}
	return st
}

var (
	emailMu sync.Mutex
	emailN  int
)

// Email returns an address no other test uses, at a reserved domain.
func Email(t testing.TB) string {
	emailMu.Lock()
	emailN++
	n := emailN
	emailMu.Unlock()
	return strings.TrimPrefix(ids.New("u"), "u_")[:16] + "." + strconv.Itoa(n) + "@example.com"
}
