// Package housekeepingfn is the scheduled housekeeping function: small,
// idempotent passes that finish what request handlers could not. Today: the
// reconciliation of source secrets orphaned by a crash between writing a
// secret and its item (sources.Reconcile).
package housekeepingfn

import (
	"context"
	"log/slog"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/sources"
)

// Report is what one run did, returned to the invoker and logged.
type Report struct {
	Sources sources.ReconcileReport `json:"sources"`
}

// Handler runs the passes.
type Handler struct {
	store  *sources.Store
	vault  *sources.Vault
	logger *slog.Logger
}

// New builds the function from its environment.
func New(ctx context.Context, env coldstart.Env) (*Handler, error) {
	b, err := coldstart.Load(ctx, "housekeeping", env)
	if err != nil {
		return nil, err
	}
	prefix := b.Config.Required("SOURCES_SECRET_PREFIX")
	if err := b.Finish(); err != nil {
		return nil, err
	}
	vault, err := sources.NewVault(b.SecretsManager(), prefix, "")
	if err != nil {
		return nil, err
	}
	return &Handler{store: sources.NewStore(b.DynamoDB, b.Table, b.Now), vault: vault, logger: b.Logger}, nil
}

// maxIntentsPerRun bounds one run's work; the next run carries on.
const maxIntentsPerRun = 500

// Run runs every pass once. It takes any event (EventBridge's scheduled
// event, or {} when invoked by hand) and ignores it.
func (h *Handler) Run(ctx context.Context, _ any) (*Report, error) {
	var r Report
	var err error
	r.Sources, err = sources.Reconcile(ctx, h.store, h.vault, maxIntentsPerRun)
	h.logger.InfoContext(ctx, "housekeeping", "pass", "source_secrets", "examined", r.Sources.Examined,
		"secrets_removed", r.Sources.SecretsRemoved, "kept", r.Sources.Kept, "ok", err == nil)
	return &r, err
}
