package credentialsfn_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/atrium-cdn/atrium/functions/credentials/credentialsfn"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/sources"
)

// countingSM counts the reads of secret values.
type countingSM struct {
	sources.SecretsManager
	reads atomic.Int64
}

func (c *countingSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.reads.Add(1)
	return c.SecretsManager.GetSecretValue(ctx, in, o...)
}

// clock is a test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cachingFixture is the function over a clock the test moves and a
// Secrets Manager client that counts reads.
func cachingFixture(t testing.TB) (*fixture, *clock, *countingSM) {
	t.Helper()
	f := newFixture(t)
	clk := &clock{t: time.Now()}
	env := f.st.ColdstartEnv("credentials", f.logs, nil)
	env.Now = clk.Now
	var err error
	if f.fn, err = credentialsfn.New(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	sm := &countingSM{SecretsManager: stack.SecretsManagerClient(f.st.SecretsManagerEndpoint)}
	if err := credentialsfn.ReadThrough(f.fn, sm, f.st.Prefix+"/sources/"); err != nil {
		t.Fatal(err)
	}
	return f, clk, sm
}

// keysOf invokes the function for the source and returns the secret key it answers.
func keysOf(t *testing.T, f *fixture, src *sources.Source) (string, error) {
	t.Helper()
	resp, err := f.fn.Invoke(t.Context(), credentialsfn.Request{AccountID: src.AccountID, SourceID: src.ID})
	if err != nil {
		return "", err
	}
	return resp.SecretAccessKey, nil
}

func TestCredentialsCache(t *testing.T) {
	const rotated = "credentials-fn-rotated-secret-key-111111111"
	f, clk, sm := cachingFixture(t)

	t.Run("a source asked for again is served from the cache", func(t *testing.T) {
		_, src := f.source(t)
		before := sm.reads.Load()
		for range 5 {
			if k, err := keysOf(t, f, src); err != nil || k != testSecret {
				t.Fatalf("keys: %v", err)
			}
		}
		if n := sm.reads.Load() - before; n != 1 {
			t.Errorf("%d secret reads for 5 invocations, want 1", n)
		}
		clk.add(credentialsfn.CacheTTL)
		if _, err := keysOf(t, f, src); err != nil {
			t.Fatal(err)
		}
		if n := sm.reads.Load() - before; n != 2 {
			t.Errorf("%d secret reads after the bound, want 2", n)
		}
	})

	t.Run("keys replaced through the API are served at once", func(t *testing.T) {
		_, src := f.source(t)
		if _, err := keysOf(t, f, src); err != nil {
			t.Fatal(err)
		}
		// As PUT /v1/sources/{id}/credentials does: lock, put, record.
		token := ids.New("lock")
		if err := f.sources.LockCredentials(t.Context(), src.AccountID, src.ID, token); err != nil {
			t.Fatal(err)
		}
		if err := f.vault.Put(t.Context(), src.SecretARN, sources.Credentials{AccessKeyID: testKeyID, SecretAccessKey: rotated}); err != nil {
			t.Fatal(err)
		}
		// While the replacement holds the lock, the secret is read, not the cache.
		if k, err := keysOf(t, f, src); err != nil || k != rotated {
			t.Fatalf("during the replacement: the old keys (%v)", err)
		}
		if _, err := f.sources.Verified(t.Context(), src.AccountID, src.ID, sources.KeyHint(testKeyID), token, src.Prefix); err != nil {
			t.Fatal(err)
		}
		if k, err := keysOf(t, f, src); err != nil || k != rotated {
			t.Fatalf("after the replacement: the old keys (%v)", err)
		}
	})

	t.Run("keys changed outside the API are served within the bound", func(t *testing.T) {
		_, src := f.source(t)
		if _, err := keysOf(t, f, src); err != nil {
			t.Fatal(err)
		}
		if err := f.vault.Put(t.Context(), src.SecretARN, sources.Credentials{AccessKeyID: testKeyID, SecretAccessKey: rotated}); err != nil {
			t.Fatal(err)
		}
		clk.add(credentialsfn.CacheTTL - time.Second)
		if k, _ := keysOf(t, f, src); k != testSecret {
			t.Fatalf("within the bound: not the cached keys")
		}
		clk.add(time.Second)
		if k, err := keysOf(t, f, src); err != nil || k != rotated {
			t.Fatalf("after the bound: the old keys (%v)", err)
		}
	})

	t.Run("a deleted source is refused at once and forgotten", func(t *testing.T) {
		_, src := f.source(t)
		if _, err := keysOf(t, f, src); err != nil {
			t.Fatal(err)
		}
		held := credentialsfn.Cached(f.fn)
		// As DELETE /v1/sources/{id} does.
		if err := sources.Remove(t.Context(), f.sources, f.vault, src); err != nil {
			t.Fatal(err)
		}
		if _, err := keysOf(t, f, src); !errors.Is(err, credentialsfn.ErrNotFound) {
			t.Fatalf("a deleted source: %v", err)
		}
		if n := credentialsfn.Cached(f.fn); n != held-1 {
			t.Errorf("%d entries after the refusal, %d before", n, held)
		}
	})

	t.Run("an account whose deletion is accepted is refused at once", func(t *testing.T) {
		acct, src := f.source(t)
		if _, err := keysOf(t, f, src); err != nil {
			t.Fatal(err)
		}
		f.acceptDeletion(t, acct)
		if _, err := keysOf(t, f, src); !errors.Is(err, credentialsfn.ErrNotFound) {
			t.Fatalf("after the deletion was accepted: %v", err)
		}
	})

	t.Run("a secret deleted outside the API is not served after the bound", func(t *testing.T) {
		_, src := f.source(t)
		if _, err := keysOf(t, f, src); err != nil {
			t.Fatal(err)
		}
		if err := f.vault.Delete(t.Context(), src.SecretARN); err != nil {
			t.Fatal(err)
		}
		clk.add(credentialsfn.CacheTTL)
		if k, err := keysOf(t, f, src); err == nil || k != "" {
			t.Fatalf("a deleted secret served after the bound")
		}
	})

	t.Run("the cache holds at most its size", func(t *testing.T) {
		credentialsfn.CacheSize(f.fn, 3)
		var srcs []*sources.Source
		for range 6 {
			_, src := f.source(t)
			srcs = append(srcs, src)
			if _, err := keysOf(t, f, src); err != nil {
				t.Fatal(err)
			}
			if n := credentialsfn.Cached(f.fn); n > 3 {
				t.Fatalf("%d entries, more than 3", n)
			}
		}
		// The most recent three are served from it; the first is read again.
		before := sm.reads.Load()
		for _, src := range srcs[3:] {
			if _, err := keysOf(t, f, src); err != nil {
				t.Fatal(err)
			}
		}
		if n := sm.reads.Load() - before; n != 0 {
			t.Errorf("%d reads for the three most recent sources, want 0", n)
		}
		if _, err := keysOf(t, f, srcs[0]); err != nil {
			t.Fatal(err)
		}
		if n := sm.reads.Load() - before; n != 1 {
			t.Errorf("the evicted source read %d times, want 1", n-0)
		}
	})

	for _, secret := range []string{testSecret, rotated} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("a secret key was logged")
		}
	}
	if !strings.Contains(f.logs.String(), `"cached":true`) {
		t.Errorf("no log line says a read was served from the cache")
	}
}

// BenchmarkCredentialsInvoke measures, side by side in one run, an
// invocation for a source asked for again and again with the cache (the
// secret read once per CacheTTL) and without it (CacheSize 0: a
// GetSecretValue every time), alternating, against DynamoDB Local and the
// local Secrets Manager; it reports the time and the secret reads of an
// invocation in each mode:
//
//	go run ./infra/local/cmd/atrium-local exec -- go test -run '^$' -bench CredentialsInvoke -benchtime 200x ./functions/credentials/credentialsfn/
func BenchmarkCredentialsInvoke(b *testing.B) {
	f, _, sm := cachingFixture(b)
	_, src := f.source(b)
	req := credentialsfn.Request{AccountID: src.AccountID, SourceID: src.ID}
	var cached, uncached time.Duration
	var cachedReads, uncachedReads int64
	for b.Loop() {
		for _, size := range []int{credentialsfn.CacheEntries, 0} {
			if size == 0 {
				credentialsfn.CacheSize(f.fn, 0)
			}
			reads, start := sm.reads.Load(), time.Now()
			if _, err := f.fn.Invoke(context.Background(), req); err != nil {
				b.Fatal(err)
			}
			if size == 0 {
				uncached += time.Since(start)
				uncachedReads += sm.reads.Load() - reads
				credentialsfn.CacheSize(f.fn, credentialsfn.CacheEntries)
				if _, err := f.fn.Invoke(context.Background(), req); err != nil { // refill, untimed
					b.Fatal(err)
				}
			} else {
				cached += time.Since(start)
				cachedReads += sm.reads.Load() - reads
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(cached), "cached-ms/invoke")
	b.ReportMetric(ms(uncached), "uncached-ms/invoke")
	b.ReportMetric(ms(cached)/ms(uncached), "cached/uncached")
	b.ReportMetric(float64(cachedReads)/float64(b.N), "cached-secret-reads/invoke")
	b.ReportMetric(float64(uncachedReads)/float64(b.N), "uncached-secret-reads/invoke")
	b.ReportMetric(0, "ns/op")
}
