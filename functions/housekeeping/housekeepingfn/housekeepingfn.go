// Package housekeepingfn is the scheduled housekeeping function: small,
// idempotent passes that finish what request handlers could not: the
// request-log sweep (P6: overdue items deleted within the hour, not left to
// TTL) and the reconciliation of source secrets orphaned by a crash between
// writing a secret and its item (sources.Reconcile), and account deletions
// that stalled (a crash or a failed call part-way: package deletion).
package housekeepingfn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/deletion/runner"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
)

// Report is what one run did, returned to the invoker and logged.
type Report struct {
	RequestLogs requestlog.SweepReport  `json:"request_logs"`
	Sources     sources.ReconcileReport `json:"sources"`
	Deletions   DeletionReport          `json:"deletions"`
}

// DeletionReport is what one run did for stalled account deletions.
type DeletionReport struct {
	Resumed  int `json:"resumed"`
	Finished int `json:"finished"`
	Failed   int `json:"failed"`
}

// Handler runs the passes.
type Handler struct {
	store   *sources.Store
	vault   *sources.Vault
	sweeper *requestlog.Sweeper
	deleter *runner.Runner
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
	cfg := runner.ReadConfig(b)
	if err := b.Finish(); err != nil {
		return nil, err
	}
	parts, err := runner.OpenParts(ctx, b, cfg)
	if err != nil {
		return nil, err
	}
	return &Handler{store: parts.Sources, vault: parts.Vault, deleter: runner.FromParts(b, parts), logger: b.Logger,
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

// maxIntentsPerRun and maxDeletionsPerRun bound one run's work; the next
// run carries on.
const (
	maxIntentsPerRun   = 500
	maxDeletionsPerRun = 20
)

// DeletionStall is how long an accepted deletion may go unfinished before
// housekeeping resumes it. The state table's stream starts every job at
// acceptance (deletionapi's stream handler) and normally finishes it within
// seconds; this pass is the safety net for a run that failed or a record
// whose retries ran out.
const DeletionStall = time.Minute

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
	var delErr error
	r.Deletions, delErr = h.resumeDeletions(ctx, end)
	h.logger.InfoContext(ctx, "housekeeping", "pass", "account_deletions", "resumed", r.Deletions.Resumed,
		"finished", r.Deletions.Finished, "failed", r.Deletions.Failed, "ok", delErr == nil)
	requestlog.EmitMetrics(h.metrics, h.clock(), h.name,
		requestlog.Metric{Name: "AccountDeletionsStalled", Unit: "Count", Value: float64(r.Deletions.Failed)})
	return &r, errors.Join(sweepErr, err, delErr)
}

// resumeDeletions carries on the account deletions accepted more than
// DeletionStall ago and not finished, until end.
func (h *Handler) resumeDeletions(ctx context.Context, end time.Time) (DeletionReport, error) {
	var rep DeletionReport
	pending, err := h.deleter.Jobs.Pending(ctx, h.deleter.Now().Add(-DeletionStall), maxDeletionsPerRun)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, id := range pending {
		if h.clock().After(end) {
			break
		}
		rep.Resumed++
		job, err := h.deleter.Run(ctx, id)
		switch {
		case errors.Is(err, runner.ErrBusy):
		case err != nil:
			rep.Failed++
			errs = append(errs, err)
		case job != nil && job.Status == deletion.StatusDone:
			rep.Finished++
		}
	}
	return rep, errors.Join(errs...)
}
