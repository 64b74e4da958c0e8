// Package housekeepingfn is the scheduled housekeeping function: small,
// idempotent passes that finish what request handlers could not: the
// request-log sweep (P6: overdue items deleted within the hour, not left to
// TTL) and the reconciliation of source secrets orphaned by a crash between
// writing a secret and its item (sources.Reconcile).
package housekeepingfn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
)

// Report is what one run did, returned to the invoker and logged.
type Report struct {
	RequestLogs requestlog.SweepReport  `json:"request_logs"`
	Sources     sources.ReconcileReport `json:"sources"`
}

// Handler runs the passes.
type Handler struct {
	store   *sources.Store
	vault   *sources.Vault
	sweeper *requestlog.Sweeper
	logger  *slog.Logger
	metrics io.Writer
	name    string
	clock   func() time.Time
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
	return &Handler{store: sources.NewStore(b.DynamoDB, b.Table, b.Now), vault: vault, logger: b.Logger,
		sweeper: &requestlog.Sweeper{DB: b.DynamoDB, Table: b.RequestLogTable, Now: b.Now},
		metrics: b.Logs, name: b.FunctionName, clock: time.Now}, nil
}

// Time budget of one run: stop this long before Lambda's deadline, and never
// run longer than maxRun, so a run always ends cleanly and the next carries on.
const (
	deadlineMargin = 10 * time.Second
	maxRun         = 50 * time.Second
)

func (h *Handler) budgetEnd(ctx context.Context) time.Time {
	end := h.clock().Add(maxRun)
	if d, ok := ctx.Deadline(); ok && d.Add(-deadlineMargin).Before(end) {
		end = d.Add(-deadlineMargin)
	}
	return end
}

// maxIntentsPerRun bounds one run's work; the next run carries on.
const maxIntentsPerRun = 500

// Run runs every pass once. It takes any event (EventBridge's scheduled
// event, or {} when invoked by hand) and ignores it.
func (h *Handler) Run(ctx context.Context, _ any) (*Report, error) {
	var r Report
	end := h.budgetEnd(ctx)
	var sweepErr error
	r.RequestLogs, sweepErr = h.sweeper.Sweep(ctx, end)
	h.logger.InfoContext(ctx, "housekeeping", "pass", "request_log_sweep", "examined", r.RequestLogs.Examined,
		"deleted", r.RequestLogs.Deleted, "left_overdue", r.RequestLogs.LeftOverdue,
		"oldest_overdue_age_s", r.RequestLogs.OldestAgeS, "finished", r.RequestLogs.Finished, "ok", sweepErr == nil)
	requestlog.EmitMetrics(h.metrics, h.clock(), h.name,
		requestlog.Metric{Name: "RequestLogsDeleted", Unit: "Count", Value: float64(r.RequestLogs.Deleted)},
		requestlog.Metric{Name: "RequestLogsOverdue", Unit: "Count", Value: float64(r.RequestLogs.LeftOverdue)},
		requestlog.Metric{Name: "OldestOverdueRequestLogAge", Unit: "Seconds", Value: r.RequestLogs.OldestAgeS})
	var err error
	r.Sources, err = sources.Reconcile(ctx, h.store, h.vault, maxIntentsPerRun)
	h.logger.InfoContext(ctx, "housekeeping", "pass", "source_secrets", "examined", r.Sources.Examined,
		"secrets_removed", r.Sources.SecretsRemoved, "kept", r.Sources.Kept, "ok", err == nil)
	return &r, errors.Join(sweepErr, err)
}
