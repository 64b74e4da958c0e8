// Package credentialsfn is the internal credentials function (P4): given an
// account id and a source id, it returns the source's location and its
// decrypted keys. It has no API route: the CDN's fetchers invoke it through
// the Lambda API with IAM, and it is the only function whose role may read
// source secrets (secretsmanager:GetSecretValue on the sources prefix) and
// decrypt them (kms:Decrypt via Secrets Manager).
package credentialsfn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Request names a source.
type Request struct {
	AccountID string `json:"account_id"`
	SourceID  string `json:"source_id"`
	// RequestID, optional, correlates the caller's logs with ours.
	RequestID string `json:"request_id,omitempty"`
}

// Response is what a fetcher needs to read the source.
type Response struct {
	Type            string `json:"type"`
	Bucket          string `json:"bucket"`
	Region          string `json:"region"`
	Prefix          string `json:"prefix"`
	Endpoint        string `json:"endpoint,omitempty"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// ErrNotFound is the one answer for a malformed request, an unknown source,
// another account's source and a source of an account whose deletion has
// been accepted (or that is otherwise not active) alike.
var ErrNotFound = statetable.NotFound("source not found")

// Handler answers invocations.
type Handler struct {
	store  *sources.Store
	vault  *sources.Vault
	cache  *keyCache
	logger *slog.Logger
}

// New builds the function from its environment.
func New(ctx context.Context, env coldstart.Env) (*Handler, error) {
	b, err := coldstart.Load(ctx, "credentials", env)
	if err != nil {
		return nil, err
	}
	prefix := b.Config.Required("SOURCES_SECRET_PREFIX")
	if err := b.Finish(); err != nil {
		return nil, err
	}
	// The vault never creates here: no KMS key id is needed to read.
	vault, err := sources.NewVault(b.SecretsManager(), prefix, "")
	if err != nil {
		return nil, err
	}
	return &Handler{store: sources.NewStore(b.DynamoDB, b.Table, b.Now), vault: vault,
		cache: newKeyCache(CacheTTL, CacheEntries, b.Now), logger: b.Logger}, nil
}

// Invoke returns the source's location and keys.
func (h *Handler) Invoke(ctx context.Context, req Request) (*Response, error) {
	if web.ValidRequestID(req.RequestID) {
		ctx = logging.WithRequestID(ctx, req.RequestID)
	}
	if !ids.Valid("acct", req.AccountID) || !ids.Valid("src", req.SourceID) {
		h.logger.WarnContext(ctx, "credentials refused", "reason", "malformed_request")
		return nil, ErrNotFound
	}
	// The source and its account in one read: from the moment an account's
	// deletion is accepted, its keys are refused, though the deletion job
	// has not yet removed the source.
	src, err := h.store.GetActive(ctx, req.AccountID, req.SourceID)
	if errors.Is(err, sources.ErrNotFound) || errors.Is(err, sources.ErrAccountNotActive) {
		h.cache.forget(req.AccountID, req.SourceID)
	}
	if errors.Is(err, sources.ErrNotFound) {
		h.logger.InfoContext(ctx, "credentials refused", "reason", "unknown_source", "account_id", req.AccountID, "source_id", req.SourceID)
		return nil, ErrNotFound
	}
	if errors.Is(err, sources.ErrAccountNotActive) {
		h.logger.InfoContext(ctx, "credentials refused", "reason", "account_not_active", "account_id", req.AccountID, "source_id", req.SourceID)
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read source: %w", err)
	}
	keys, cached := h.cache.get(src)
	if !cached {
		if keys, err = h.vault.Read(ctx, src.SecretARN); err != nil {
			return nil, fmt.Errorf("read credentials of %s: %w", src.ID, err)
		}
		h.cache.put(src, keys)
	}
	h.logger.InfoContext(ctx, "credentials read", "account_id", src.AccountID, "source_id", src.ID, "cached", cached)
	return &Response{Type: src.Type, Bucket: src.Bucket, Region: src.Region, Prefix: src.Prefix, Endpoint: src.Endpoint,
		AccessKeyID: keys.AccessKeyID, SecretAccessKey: keys.SecretAccessKey}, nil
}
