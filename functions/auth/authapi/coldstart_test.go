package authapi

import (
	"context"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// The cold start reads its secrets (SMTP login, client key, MFA key) at once, not one after another.
func TestColdStartReadsSecretsAtOnce(t *testing.T) {
	testenv.ColdStartReadsSecretsAtOnce(t, "auth", 3, func(ctx context.Context, env coldstart.Env) error {
		_, err := New(ctx, env)
		return err
	})
}
