package deletionapi

import (
	"context"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// The cold start reads its secrets (client key, Stripe key) at once, not one after another.
func TestColdStartReadsSecretsAtOnce(t *testing.T) {
	testenv.ColdStartReadsSecretsAtOnce(t, "deletion", 2, func(ctx context.Context, env coldstart.Env) error {
		_, err := Build(ctx, env)
		return err
	})
}
