package credentialsfn

import (
	"container/list"
	"sync"
	"time"

	"github.com/atrium-cdn/atrium/shared/sources"
)

// The cache of sources' keys (see keyCache).
const (
	// CacheTTL is the longest a source's keys are served from an
	// instance's memory without reading their secret again: the bound on
	// a change made to the secret outside Atrium's API (an operator's
	// PutSecretValue or DeleteSecret). Changes through the API are seen at
	// once (the cache key holds the source item's generation).
	CacheTTL = 30 * time.Second
	// CacheEntries bounds the sources an instance keeps keys of.
	CacheEntries = 256
)

// keyCache keeps, per instance, the keys of the sources most recently
// read, so that a fetcher asking again and again for the same source does
// not cost a Secrets Manager call each time. It is consulted only after the
// strongly consistent read of the source and its account that decides
// every answer (GetActive): a deleted source, or one of an account whose
// deletion is accepted, is refused before the cache is looked at, and its
// entry dropped. An entry is used only for the same secret ARN and the same
// generation of the source item (updated_at and the key hint, which
// replacing the keys through the API changes; never while a replacement
// holds the item's lock), and for at most ttl after it was read. At most
// max entries are kept, the least recently used going first; expired ones
// are dropped on every call.
type keyCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // by account id "/" source id
	order   *list.List               // of *cacheEntry, most recently used first
}

type cacheEntry struct {
	id         string
	arn        string
	generation string
	keys       sources.Credentials
	read       time.Time
}

func newKeyCache(ttl time.Duration, size int, now func() time.Time) *keyCache {
	return &keyCache{ttl: ttl, max: size, now: now, entries: map[string]*list.Element{}, order: list.New()}
}

// generation identifies the version of a source's keys as its item knows
// it; "" (never cached) while new keys are being put.
func generation(src *sources.Source) string {
	if src.CredentialsLock != "" {
		return ""
	}
	return src.UpdatedAt.UTC().Format(time.RFC3339Nano) + "|" + src.AccessKeyHint
}

func cacheID(accountID, sourceID string) string { return accountID + "/" + sourceID }

// get returns the cached keys of the source, if fresh and of the same
// secret and generation.
func (c *keyCache) get(src *sources.Source) (sources.Credentials, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.purge()
	gen := generation(src)
	el, ok := c.entries[cacheID(src.AccountID, src.ID)]
	if !ok || gen == "" {
		return sources.Credentials{}, false
	}
	e := el.Value.(*cacheEntry)
	if e.arn != src.SecretARN || e.generation != gen {
		c.remove(el)
		return sources.Credentials{}, false
	}
	c.order.MoveToFront(el)
	return e.keys, true
}

// put keeps the keys just read from the source's secret.
func (c *keyCache) put(src *sources.Source, keys sources.Credentials) {
	gen := generation(src)
	if gen == "" || c.max <= 0 || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := cacheID(src.AccountID, src.ID)
	if el, ok := c.entries[id]; ok {
		c.remove(el)
	}
	c.entries[id] = c.order.PushFront(&cacheEntry{id: id, arn: src.SecretARN, generation: gen, keys: keys, read: c.now()})
	for c.order.Len() > c.max {
		c.remove(c.order.Back())
	}
}

// forget drops the source's entry (a refusal).
func (c *keyCache) forget(accountID, sourceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[cacheID(accountID, sourceID)]; ok {
		c.remove(el)
	}
	c.purge()
}

// purge drops expired entries. Called with mu held.
func (c *keyCache) purge() {
	now := c.now()
	for el := c.order.Back(); el != nil; {
		prev := el.Prev()
		if e := el.Value.(*cacheEntry); now.Sub(e.read) >= c.ttl || now.Before(e.read) {
			c.remove(el)
		}
		el = prev
	}
}

func (c *keyCache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).id)
	c.order.Remove(el)
}

// len is how many sources' keys are held.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
