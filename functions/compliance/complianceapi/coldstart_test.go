package complianceapi

import (
	"context"
	"io"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// The cold start reads its two secrets (SMTP login, client key) at once:
// read one after another, at most one is ever in flight.
func TestColdStartReadsSecretsAtOnce(t *testing.T) {
	env := testenv.NewStack(t).Env("compliance")
	const want = 2
	count := testenv.SecretReads(t, env, want)
	if _, err := New(context.Background(), coldstart.Env{Getenv: func(k string) string { return env[k] }, Logs: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if total, peak := count(); total != want || peak != want {
		t.Fatalf("cold start: %d secret reads, at most %d at once; want %d, all at once", total, peak, want)
	}
}
