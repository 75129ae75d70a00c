package providers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// ClientCache reuses provider clients across reconciles. Building a client resolves
// credentials (a Secret read, or a TokenRequest plus an STS call for IRSA), which costs more
// than the read it serves; with thousands of ExternalSecrets on one store that would
// multiply the API and STS traffic. Each store (per namespace, for a ClusterSecretStore) has
// one Reader, the shared read path that batches, de-duplicates and rate-limits its calls.
// A changed store (new generation) gets a new client and Reader at once; the client is
// rebuilt after a TTL so that rotated static keys in a referenced Secret are picked up,
// while the Reader (its recent values and token bucket) stays. Concurrent misses for the
// same store build one client.
type ClientCache struct {
	registry *Registry
	kube     client.Client
	ttl      time.Duration
	reads    ReaderOptions
	now      func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	// gone holds the UIDs of deleted stores (with when they were forgotten) for a while, so
	// that a client being built when its store was deleted is not cached after Forget.
	gone   map[types.UID]time.Time
	flight singleflight.Group
}

type cacheKey struct {
	uid       types.UID
	namespace string
}

type cacheEntry struct {
	generation int64
	reader     *Reader
	expires    time.Time
	used       time.Time
}

// idleFor is how long an entry nobody uses is kept: longer than the default refresh
// interval (1h), so that periodic refreshes find their store's Reader. A store used rarely
// only rebuilds its client; a ClusterSecretStore's entry for a deleted namespace, or a store
// whose ExternalSecrets are gone, does not stay for the life of the process.
const idleFor = 2 * time.Hour

// NewClientCache returns a cache that builds clients through the registry.
func NewClientCache(registry *Registry, kube client.Client, ttl time.Duration, reads ReaderOptions) *ClientCache {
	return &ClientCache{registry: registry, kube: kube, ttl: ttl, reads: reads, now: time.Now,
		entries: map[cacheKey]*cacheEntry{}, gone: map[types.UID]time.Time{}}
}

// Registry returns the registry the cache builds clients with.
func (c *ClientCache) Registry() *Registry { return c.registry }

// Get returns the read path to the store as used from namespace.
func (c *ClientCache) Get(ctx context.Context, store esv1.GenericStore, namespace string) (*Reader, error) {
	key := cacheKey{uid: store.GetUID()}
	if store.GetKind() == esv1.ClusterSecretStoreKind {
		// Credential references of a ClusterSecretStore may resolve per namespace.
		key.namespace = namespace
	}
	gen := store.GetGeneration()
	if r := c.cached(key, gen); r != nil {
		return r, nil
	}
	v, err, _ := c.flight.Do(fmt.Sprintf("%s/%d/%s", key.uid, gen, key.namespace), func() (any, error) {
		p, err := c.registry.ForStore(store)
		if err != nil {
			return nil, err
		}
		// The store reconciler validates too, but its verdict may not be in yet when a
		// changed store is used: a configuration that cannot work never gets a client.
		if err := p.ValidateStore(store); err != nil {
			return nil, err
		}
		cl, err := p.NewClient(ctx, store, c.kube, namespace)
		if err != nil {
			return nil, err
		}
		return c.put(key, gen, cl, p), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Reader), nil
}

// cached returns the Reader of a store's current generation while its client is fresh.
// The entry's fields are read under the lock: put renews them in place.
func (c *ClientCache) cached(key cacheKey, gen int64) *Reader {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	now := c.now()
	if ok && e.generation == gen && now.Before(e.expires) {
		e.used = now
		return e.reader
	}
	return nil
}

// put stores a new client: in the store's Reader when only the TTL expired, in a new Reader
// when the store changed (its old values and batches may name another account or path).
func (c *ClientCache) put(key cacheKey, gen int64, cl Client, p Provider) *Reader {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, deleted := c.gone[key.uid]; deleted {
		// Built for a store deleted meanwhile: serve this one pass, keep nothing.
		closeLater(cl)
		return NewReader(cl, c.reads)
	}
	e, ok := c.entries[key]
	if ok {
		closeLater(e.reader.Client())
	}
	if ok && e.generation == gen {
		e.reader.setClient(cl)
	} else {
		o := c.reads
		if r, ok := p.(DefaultRater); ok && o.QPS == 0 {
			o.QPS, o.Burst = r.DefaultRate()
		}
		e = &cacheEntry{generation: gen, reader: NewReader(cl, o)}
		c.entries[key] = e
	}
	now := c.now()
	e.expires, e.used = now.Add(c.ttl), now
	c.dropIdle(now)
	return e.reader
}

// dropIdle drops the entries nobody used for idleFor; the caller holds c.mu. It runs when
// a client is built, which every entry's TTL brings about regularly.
func (c *ClientCache) dropIdle(now time.Time) {
	for k, e := range c.entries {
		if now.Sub(e.used) > idleFor {
			e.reader.release()
			closeLater(e.reader.Client())
			delete(c.entries, k)
		}
	}
}

// closeGrace is how long a replaced client stays usable for the reads that hold it.
const closeGrace = time.Minute

func closeLater(cl Client) {
	if closer, ok := cl.(Closer); ok {
		time.AfterFunc(closeGrace, closer.Close)
	}
}

// goneFor is how long the UID of a deleted store is remembered: longer than any client
// build takes.
const goneFor = 10 * time.Minute

// Forget drops every client of a deleted store, with its credentials and the values its
// Reader remembers. Reads in flight on it fail or finish; nothing of the store stays in
// the cache, and a client being built for it is not kept.
func (c *ClientCache) Forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for u, at := range c.gone {
		if now.Sub(at) > goneFor {
			delete(c.gone, u)
		}
	}
	c.gone[uid] = now
	c.drop(uid, func(cl Client) {
		if closer, ok := cl.(Closer); ok {
			go closer.Close() // the store is gone: nothing may read with it any more
		}
	})
}

// Changed drops the clients of a store whose spec changed: the next read builds a client
// from the new spec (or fails on it), and the old values are released at once rather than
// on the next read. Reads in flight keep their client for closeGrace.
func (c *ClientCache) Changed(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(uid, closeLater)
}

// drop removes a store's entries and the values their Readers remember; the caller holds
// c.mu.
func (c *ClientCache) drop(uid types.UID, closeClient func(Client)) {
	for k, e := range c.entries {
		if k.uid != uid {
			continue
		}
		e.reader.release()
		closeClient(e.reader.Client())
		delete(c.entries, k)
	}
}

// Holds reports whether the cache holds anything of a store (tests and debugging).
func (c *ClientCache) Holds(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if k.uid == uid {
			return true
		}
	}
	return false
}

// Generate runs a generator named by an ExternalSecret of namespace. Generator objects are
// read directly from the API server (no informer: they are read once per sync of the few
// ExternalSecrets that use them).
func (c *ClientCache) Generate(ctx context.Context, apiVersion, kind, name,
	namespace string) (map[string][]byte, error) {
	g, err := c.registry.Generator(apiVersion, kind)
	if err != nil {
		return nil, err
	}
	return g.Generate(ctx, c.kube, namespace, name)
}
