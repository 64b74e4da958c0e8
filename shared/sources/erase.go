package sources

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

// eraseSources is the deletion step that erases this package's kinds.
const eraseSources = "sources"

// eraseAtOnce bounds the sources removed at once in a deletion.
const eraseAtOnce = 4

// Eraser is this package's part of an account's deletion: every source
// removed the way DELETE /v1/sources/{id} removes one (its secret deleted at
// once, with no recovery window, under its write-ahead intent), at most
// eraseAtOnce at once, then whatever an interrupted removal or
// registration of the account left behind.
func Eraser(store *Store, vault *Vault) lifecycle.Eraser {
	return lifecycle.Eraser{Step: eraseSources, Owner: lifecycleOwner,
		Erase: func(ctx context.Context, sub lifecycle.Subject, count lifecycle.Count) error {
			list, err := store.List(ctx, sub.AccountID)
			if err != nil {
				return err
			}
			var (
				mu       sync.Mutex
				removed  int
				errs     = make([]error, len(list))
				wg       sync.WaitGroup
				inFlight = make(chan struct{}, eraseAtOnce)
			)
			for i, src := range list {
				inFlight <- struct{}{}
				wg.Go(func() {
					defer func() { <-inFlight }()
					if errs[i] = erase(ctx, store, vault, src); errs[i] == nil {
						mu.Lock()
						removed++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			err = errors.Join(errs...)
			// What was removed is counted even when another source failed.
			err = errors.Join(err, count("sources", removed), count("source_secrets", removed))
			if err != nil {
				return err
			}
			return clearIntents(ctx, store, vault, sub.AccountID)
		}}
}

// erase removes one source and its secret.
func erase(ctx context.Context, store *Store, vault *Vault, src *Source) error {
	err := Remove(ctx, store, vault, src)
	if errors.Is(err, ErrSecretLeftToHousekeeping) {
		// The item is gone, the secret not yet: try once more now
		// (its intent stays until it goes, for housekeeping).
		if derr := vault.Delete(ctx, src.SecretARN); derr != nil {
			return err
		}
		err = nil
	}
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// clearIntents deletes the secrets named by the account's write-ahead
// intents, and the intents: what an earlier, interrupted removal (or
// registration) left. Intents live for milliseconds, so the partition is
// short.
func clearIntents(ctx context.Context, store *Store, vault *Vault, accountID string) error {
	intents, err := store.StaleIntents(ctx, store.Now().Add(time.Second), 1000)
	if err != nil {
		return err
	}
	for _, in := range intents {
		if in.AccountID != accountID {
			continue
		}
		if err := vault.Delete(ctx, in.SecretName); err != nil {
			return err
		}
		if err := store.ClearIntent(ctx, in); err != nil {
			return err
		}
	}
	return nil
}
