// Package deletionapi is the account-deletion function: GET
// /v1/account/deletion/{id} shows a deletion's progress and, once done, its
// receipt; when the job is not finished, the call also carries it on (so a
// dashboard polling the route drives the deletion to its end; the scheduled
// housekeeping finishes any job nobody polls). The deletion itself is
// accepted by DELETE /v1/account in the auth function, which re-checks the
// password. The same handler runs in Lambda (functions/deletion) and in the
// local stack.
package deletionapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{"GET /v1/account/deletion/{id}"}

// runBudget bounds the work one status call does on an unfinished job.
const runBudget = 15 * time.Second

// Service serves deletion status and carries jobs on.
type Service struct {
	Runner *deletion.Runner
	Logger *slog.Logger
}

// New builds the deletion function from its environment.
func New(ctx context.Context, env coldstart.Env) (http.Handler, error) {
	b, err := coldstart.Load(ctx, "deletion", env)
	if err != nil {
		return nil, err
	}
	cfg := deletion.ReadConfig(b)
	if err := b.Finish(); err != nil {
		return nil, err
	}
	runner, err := deletion.NewRunner(ctx, b, cfg)
	if err != nil {
		return nil, err
	}
	s := &Service{Runner: runner, Logger: b.Logger}
	return b.Serve(s.Routes()), nil
}

// Routes returns the function's router.
func (s *Service) Routes() *web.Router {
	rt := web.NewRouter(s.Logger)
	rt.Handle("GET /v1/account/deletion/{id}", s.status)
	return rt
}

// Response is the answer of the status route.
type Response struct {
	Deletion *deletion.Job `json:"deletion"`
}

var errNotFound = web.Errorf(http.StatusNotFound, "deletion_not_found", "There is no deletion with that id (receipts are kept for a year).")

func (s *Service) status(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !ids.Valid(deletion.IDPrefix, id) {
		return errNotFound
	}
	ctx := r.Context()
	// Run reads the job and returns a finished one as it is; an unfinished
	// one it carries on first.
	runCtx, cancel := context.WithTimeout(ctx, runBudget)
	job, err := s.Runner.Run(runCtx, id)
	cancel()
	switch {
	case errors.Is(err, deletion.ErrNotFound):
		return errNotFound
	case job == nil:
		return err
	case err != nil && !errors.Is(err, deletion.ErrBusy):
		// Not the caller's problem: the job resumes on the next call or
		// the next housekeeping run.
		s.Logger.WarnContext(ctx, "deletion not finished yet", "deletion_id", id, "error", err)
	}
	web.WriteJSON(w, http.StatusOK, Response{Deletion: job})
	return nil
}
