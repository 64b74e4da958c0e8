package sources

import (
	"context"
	"errors"
	"time"
)

// ReconcileGrace is how old an intent must be before Reconcile acts on it:
// far longer than the one Secrets Manager call it covers.
const ReconcileGrace = 10 * time.Minute

// ReconcileReport says what one pass did.
type ReconcileReport struct {
	Examined       int `json:"examined"`        // stale intents looked at
	SecretsRemoved int `json:"secrets_removed"` // orphaned secrets deleted
	Kept           int `json:"kept"`            // intents whose source exists: the secret is in use
}

// Reconcile finishes what a crash interrupted: for every intent older than
// the grace period, a secret whose source item does not exist is deleted (no
// recovery window), and the intent is cleared. It is idempotent, and safe to
// run twice at once (deleting a deleted secret or intent is not an error).
func Reconcile(ctx context.Context, store *Store, vault *Vault, limit int) (ReconcileReport, error) {
	var r ReconcileReport
	intents, err := store.StaleIntents(ctx, store.Now().Add(-ReconcileGrace), limit)
	if err != nil {
		return r, err
	}
	for _, in := range intents {
		r.Examined++
		_, err := store.Get(ctx, in.AccountID, in.SourceID)
		switch {
		case errors.Is(err, ErrNotFound):
			if !vault.Owns(in.SecretName) {
				return r, errors.New("sources: intent names a secret outside the sources prefix")
			}
			if err := vault.Delete(ctx, in.SecretName); err != nil {
				return r, err
			}
			r.SecretsRemoved++
		case err != nil:
			return r, err
		default:
			r.Kept++
		}
		if err := store.ClearIntent(ctx, in); err != nil {
			return r, err
		}
	}
	return r, nil
}
