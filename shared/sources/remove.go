package sources

import (
	"context"
	"errors"
	"fmt"
)

// Remove deletes a source: an intent first, then the item (giving its place
// in the limit back), then the secret with no recovery window, then the
// intent. A crash anywhere leaves either the source whole, or an intent that
// housekeeping uses to delete the orphaned secret.
func Remove(ctx context.Context, store *Store, vault *Vault, src *Source) error {
	intent, err := store.writeIntent(ctx, src.AccountID, src.ID, vault.SecretName(src.AccountID, src.ID))
	if err != nil {
		return err
	}
	if err := store.Delete(ctx, src.AccountID, src.ID); err != nil {
		return errors.Join(err, store.ClearIntent(context.WithoutCancel(ctx), intent))
	}
	if err := vault.Delete(ctx, src.SecretARN); err != nil {
		return fmt.Errorf("%w: %w", ErrSecretLeftToHousekeeping, err) // the intent stays
	}
	return store.ClearIntent(ctx, intent)
}

// ErrSecretLeftToHousekeeping: the source's item is gone but its secret is
// not yet; the intent left behind has housekeeping delete it.
var ErrSecretLeftToHousekeeping = errors.New("source deleted; its secret is left to housekeeping")
