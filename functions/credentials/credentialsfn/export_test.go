package credentialsfn

import "github.com/atrium-cdn/atrium/shared/sources"

// Hooks for the tests of package credentialsfn_test.

// ReadThrough makes h read secrets through sm (a counting wrapper).
func ReadThrough(h *Handler, sm sources.SecretsManager, prefix string) error {
	v, err := sources.NewVault(sm, prefix, "")
	h.vault = v
	return err
}

// CacheSize sets how many sources' keys h keeps (emptying its cache).
func CacheSize(h *Handler, n int) { h.cache = newKeyCache(CacheTTL, n, h.cache.now) }

// Cached is how many sources' keys h holds.
func Cached(h *Handler) int { return h.cache.len() }
