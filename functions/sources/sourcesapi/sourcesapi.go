// Package sourcesapi is the sources function: a customer registers the
// storage the CDN reads images from. Keys are checked for read access (never
// by writing), the secret key goes straight into Secrets Manager (P3), and
// only the internal credentials function can ever read it back (P4).
package sourcesapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/s3check"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{
	"POST /v1/sources",
	"GET /v1/sources",
	"GET /v1/sources/{id}",
	"PATCH /v1/sources/{id}",
	"PUT /v1/sources/{id}/credentials",
	"DELETE /v1/sources/{id}",
}

// Recommendation is returned with every registration (P5).
const Recommendation = "Give Atrium keys that can only read: an IAM user or role whose policy allows " +
	"s3:ListBucket on the bucket and s3:GetObject on its objects (under the prefix), and nothing else. " +
	"Atrium never writes to your bucket."

// Unverified comes with a source whose prefix changed after its keys were
// last checked. The function cannot check them again on its own: only the
// internal credentials function may read a source's secret (P4).
const Unverified = "The prefix changed after the keys were last checked, so read access under the new prefix " +
	"is not verified. Send the keys again with PUT /v1/sources/{id}/credentials to check them."

// ReadChecker checks that keys can read a location (*s3check.Checker).
type ReadChecker interface {
	CheckRead(ctx context.Context, loc s3check.Location, keys s3check.Keys) error
}

// Limits are how many sources each plan may register.
type Limits struct{ Standard, Premium int }

func (l Limits) of(plan string) int {
	if plan == plans.Premium {
		return l.Premium
	}
	return l.Standard
}

// Service carries out the source routes.
type Service struct {
	Store         *sources.Store
	Vault         *sources.Vault
	Checker       ReadChecker
	Limits        Limits
	AllowLoopback bool // local stage: http://127.0.0.1 endpoints for the in-process S3
	Logger        *slog.Logger
	// StepUp guards changing a source's keys: the session (the same item
	// the auth function writes) must have proved a factor within the
	// step-up window (shared/mfa). Required: New always sets it.
	StepUp *mfa.StepUp
}

// New builds the sources function from its environment.
func New(ctx context.Context, env coldstart.Env) (http.Handler, error) {
	b, err := coldstart.Load(ctx, "sources", env)
	if err != nil {
		return nil, err
	}
	r := b.Config
	prefix := r.Required("SOURCES_SECRET_PREFIX")
	kmsKey := r.Required("SOURCES_KMS_KEY_ARN")
	// The roles each new secret's resource policy trusts (P4): only the
	// credentials function's reads it, only this function's changes it.
	policy := sources.SecretPolicy{ReaderRoleARN: r.Required("CREDENTIALS_ROLE_ARN"), WriterRoleARN: r.Required("SOURCES_ROLE_ARN")}
	const roleShape = "must be an IAM role ARN, arn:<partition>:iam::<account id>:role/<name>, without wildcards"
	r.Check("CREDENTIALS_ROLE_ARN", policy.ReaderRoleARN == "" || sources.IsRoleARN(policy.ReaderRoleARN), roleShape)
	r.Check("SOURCES_ROLE_ARN", policy.WriterRoleARN == "" || sources.IsRoleARN(policy.WriterRoleARN), roleShape)
	r.Check("SOURCES_ROLE_ARN", policy.WriterRoleARN == "" || policy.WriterRoleARN != policy.ReaderRoleARN,
		"must not be CREDENTIALS_ROLE_ARN: the role that writes source secrets never reads them (P4)")
	limits := Limits{
		Standard: r.Int("SOURCES_LIMIT_STANDARD", 3, 0, 1000),
		Premium:  r.Int("SOURCES_LIMIT_PREMIUM", 25, 0, 10000),
	}
	stepUpWindow := r.Duration("STEP_UP_WINDOW", mfa.DefaultStepUpWindow, time.Minute, time.Hour)
	if err := b.Finish(); err != nil {
		return nil, err
	}
	vault, err := sources.NewVault(b.SecretsManager(), prefix, kmsKey)
	if err != nil {
		return nil, err
	}
	if vault, err = vault.WithPolicy(policy); err != nil {
		return nil, err
	}
	local := b.Stage == coldstart.LocalStage
	svc := &Service{
		Store: sources.NewStore(b.DynamoDB, b.Table, b.Now), Vault: vault,
		Checker: s3check.New(s3check.Options{AllowLoopbackHTTP: local}), Limits: limits,
		AllowLoopback: local, Logger: b.Logger,
		// Reads only which second factors the account has, of every kind.
		StepUp: passkeys.NewStepUp(b.DynamoDB, b.Table, b.Now, stepUpWindow),
	}
	return b.Serve(svc.Handler(b.Auth)), nil
}

// Handler routes the sources function's requests; every route needs a session.
func (s *Service) Handler(auth *identity.Authenticator) http.Handler {
	rt := web.NewRouter(s.Logger)
	// New keys (a new source's, or a source's new ones) need a fresh
	// step-up (403 step_up_required otherwise); so does a deletion, or a
	// stale session could delete a source and create it again with other
	// keys.
	rt.Handle("POST /v1/sources", auth.Require(s.StepUp.Require(s.create)))
	rt.Handle("GET /v1/sources", auth.Require(s.list))
	rt.Handle("GET /v1/sources/{id}", auth.Require(s.get))
	rt.Handle("PATCH /v1/sources/{id}", auth.Require(s.patch))
	rt.Handle("PUT /v1/sources/{id}/credentials", auth.Require(s.StepUp.Require(s.putCredentials)))
	rt.Handle("DELETE /v1/sources/{id}", auth.Require(s.StepUp.Require(s.delete)))
	return rt
}

var errNotFound = web.CodeSourceNotFound.New()

// errSessionEnded answers as the authenticator does a request whose session
// is no longer valid.

// unreachable explains a failed read check without any of the keys.
func unreachable(err error) error {
	var f *s3check.Failure
	if errors.As(err, &f) {
		return web.CodeSourceUnreachable.Errorf("%s Nothing was stored.", f.Message)
	}
	return err
}

func (s *Service) create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	me := identity.SessionFrom(ctx)
	var req CreateRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	loc, err := validateCreate(&req, s.AllowLoopback)
	if err != nil {
		return err
	}
	var usage sources.Usage // the plan and the source count, read with the session
	if err := me.DecodeAccount(&usage); err != nil {
		return err
	}
	plan := usage.PlanAt(s.Store.Now())
	limit := s.Limits.of(plan)
	if usage.SourceCount >= limit {
		return s.limitReached(plan, limit)
	}
	keys := sources.Credentials{AccessKeyID: req.AccessKeyID, SecretAccessKey: req.SecretAccessKey}
	if err := s.Checker.CheckRead(ctx, loc, s3check.Keys{AccessKeyID: keys.AccessKeyID, SecretAccessKey: keys.SecretAccessKey}); err != nil {
		s.Logger.InfoContext(ctx, "source registration refused", "account_id", me.AccountID, "reason", "unreachable")
		return unreachable(err)
	}
	now := s.Store.Now()
	src := &sources.Source{
		ID: ids.New("src"), AccountID: me.AccountID, Name: strings.TrimSpace(req.Name), Type: req.Type, Bucket: req.Bucket, Region: req.Region,
		Prefix: loc.Prefix, Endpoint: loc.Endpoint, AccessKeyHint: sources.KeyHint(keys.AccessKeyID),
		CreatedAt: now, UpdatedAt: now, Verification: sources.Verification{Status: sources.StatusVerified, CheckedAt: now},
	}
	if err := s.store(ctx, src, keys, limit); err != nil {
		if errors.Is(err, sources.ErrLimitReached) {
			return s.limitReached(plan, limit)
		}
		if errors.Is(err, sources.ErrAccountNotActive) {
			// The account's deletion was accepted while this request ran:
			// its session has ended, and nothing was stored.
			return identity.ErrSessionEnded
		}
		return err
	}
	s.Logger.InfoContext(ctx, "source registered", "account_id", me.AccountID, "source_id", src.ID)
	web.WriteJSON(w, http.StatusCreated, map[string]any{"source": src, "recommendation": Recommendation})
	return nil
}

// store writes the secret, then the item, so that from the customer's view it
// is all or nothing: a failed item write deletes the secret before the error
// returns, and a crash in between leaves an intent that housekeeping acts on.
func (s *Service) store(ctx context.Context, src *sources.Source, keys sources.Credentials, limit int) error {
	intent, err := s.Store.WriteIntent(ctx, src.AccountID, src.ID, s.Vault.SecretName(src.AccountID, src.ID))
	if err != nil {
		return err
	}
	arn, err := s.Vault.Create(ctx, src.AccountID, src.ID, keys)
	if err != nil {
		return errors.Join(err, s.undo(ctx, intent))
	}
	src.SecretARN = arn
	if err := s.Store.Create(ctx, src, limit, intent); err != nil {
		return errors.Join(err, s.undo(ctx, intent))
	}
	return nil
}

// undo deletes a secret whose item was not written, then its intent. If this
// fails too, the intent stays and housekeeping finishes the job.
func (s *Service) undo(ctx context.Context, intent *sources.Intent) error {
	if err := s.Vault.Delete(context.WithoutCancel(ctx), intent.SecretName); err != nil {
		return fmt.Errorf("undo secret (housekeeping will retry): %w", err)
	}
	return s.Store.ClearIntent(context.WithoutCancel(ctx), intent)
}

func (s *Service) limitReached(plan string, limit int) error {
	msg := fmt.Sprintf("Your %s plan allows %d sources. Delete one, or upgrade to premium for more.", plan, limit)
	if plan == plans.Premium {
		msg = fmt.Sprintf("Your premium plan allows %d sources. Delete one to add another.", limit)
	}
	return web.CodeSourceLimitReached.Errorf("%s", msg)
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) error {
	me := identity.SessionFrom(r.Context())
	all, err := s.Store.List(r.Context(), me.AccountID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"sources": all})
	return nil
}

// owned returns the caller's source named in the path, or a 404 problem.
func (s *Service) owned(r *http.Request) (*sources.Source, error) {
	id := r.PathValue("id")
	if !ids.Valid("src", id) {
		return nil, errNotFound
	}
	src, err := s.Store.Get(r.Context(), identity.SessionFrom(r.Context()).AccountID, id)
	if errors.Is(err, sources.ErrNotFound) {
		return nil, errNotFound
	}
	return src, err
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) error {
	src, err := s.owned(r)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"source": src})
	return nil
}

func (s *Service) patch(w http.ResponseWriter, r *http.Request) error {
	var req PatchRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	var f []web.FieldError
	if req.Name == nil && req.Prefix == nil {
		f = append(f, field("name", "required", "send name, prefix or both"))
	}
	if req.Name != nil {
		f = append(f, validName(*req.Name)...)
		trimmed := strings.TrimSpace(*req.Name)
		req.Name = &trimmed
	}
	if req.Prefix != nil {
		f = append(f, validPrefix(*req.Prefix)...)
	}
	if len(f) > 0 {
		return web.Invalid(f...)
	}
	id := r.PathValue("id")
	if !ids.Valid("src", id) {
		return errNotFound
	}
	// The conditional update under the caller's own key is the ownership
	// check: another account's id is ErrNotFound.
	src, err := s.Store.Rename(r.Context(), identity.SessionFrom(r.Context()).AccountID, id, req.Name, req.Prefix)
	if errors.Is(err, sources.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, changed(src))
	return nil
}

// changed is the answer to a change of a source: the source, and a notice
// when the change leaves it unverified.
func changed(src *sources.Source) map[string]any {
	out := map[string]any{"source": src}
	if src.Verification.Status == sources.StatusUnverified {
		out["notice"] = Unverified
	}
	return out
}

func (s *Service) putCredentials(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var req CredentialsRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if f := validKeys(req.AccessKeyID, req.SecretAccessKey); len(f) > 0 {
		return web.Invalid(f...)
	}
	src, err := s.owned(r)
	if err != nil {
		return err
	}
	loc := s3check.Location{Type: src.Type, Bucket: src.Bucket, Region: src.Region, Prefix: src.Prefix, Endpoint: src.Endpoint}
	if err := s.Checker.CheckRead(ctx, loc, s3check.Keys{AccessKeyID: req.AccessKeyID, SecretAccessKey: req.SecretAccessKey}); err != nil {
		return unreachable(err)
	}
	// One update at a time, so the hint shown is always that of the key the
	// secret holds; a source deleted meanwhile is simply not found.
	token := ids.New("lock")
	if err := s.Store.LockCredentials(ctx, src.AccountID, src.ID, token); err != nil {
		return sourceError(err)
	}
	if err := s.Vault.Put(ctx, src.SecretARN, sources.Credentials{AccessKeyID: req.AccessKeyID, SecretAccessKey: req.SecretAccessKey}); err != nil {
		unlockErr := s.Store.UnlockCredentials(context.WithoutCancel(ctx), src.AccountID, src.ID, token)
		if errors.Is(err, sources.ErrSecretGone) {
			return errNotFound // deleted meanwhile
		}
		return errors.Join(err, unlockErr)
	}
	src, err = s.Store.Verified(ctx, src.AccountID, src.ID, sources.KeyHint(req.AccessKeyID), token, loc.Prefix)
	if err != nil {
		return sourceError(err)
	}
	s.Logger.InfoContext(ctx, "source credentials replaced", "account_id", src.AccountID, "source_id", src.ID)
	web.WriteJSON(w, http.StatusOK, changed(src))
	return nil
}

// sourceError answers the store's errors about one source.
func sourceError(err error) error {
	switch {
	case errors.Is(err, sources.ErrNotFound):
		return errNotFound
	case errors.Is(err, sources.ErrBusy):
		return web.CodeSourceBusy.New()
	}
	return err
}

func (s *Service) delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	src, err := s.owned(r)
	if err != nil {
		return err
	}
	err = sources.Remove(ctx, s.Store, s.Vault, src)
	switch {
	case errors.Is(err, sources.ErrNotFound):
		return errNotFound
	case errors.Is(err, sources.ErrSecretLeftToHousekeeping):
		// The source is gone for the customer; its secret will be within the
		// quarter hour. Ours to watch, not theirs.
		s.Logger.ErrorContext(ctx, "source secret not deleted; housekeeping will", "account_id", src.AccountID,
			"source_id", src.ID, "error", err)
	case err != nil:
		return err
	}
	s.Logger.InfoContext(ctx, "source deleted", "account_id", src.AccountID, "source_id", src.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
