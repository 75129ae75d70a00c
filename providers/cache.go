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
	flight  singleflight.Group
}

type cacheKey struct {
	uid       types.UID
	namespace string
}

type cacheEntry struct {
	generation int64
	reader     *Reader
	expires    time.Time
}

// NewClientCache returns a cache that builds clients through the registry.
func NewClientCache(registry *Registry, kube client.Client, ttl time.Duration, reads ReaderOptions) *ClientCache {
	return &ClientCache{registry: registry, kube: kube, ttl: ttl, reads: reads, now: time.Now, entries: map[cacheKey]*cacheEntry{}}
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
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.generation == gen && c.now().Before(e.expires) {
		return e.reader, nil
	}
	v, err, _ := c.flight.Do(fmt.Sprintf("%s/%d/%s", key.uid, gen, key.namespace), func() (any, error) {
		p, err := c.registry.ForStore(store)
		if err != nil {
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

// put stores a new client: in the store's Reader when only the TTL expired, in a new Reader
// when the store changed (its old values and batches may name another account or path).
func (c *ClientCache) put(key cacheKey, gen int64, cl Client, p Provider) *Reader {
	c.mu.Lock()
	defer c.mu.Unlock()
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
	e.expires = c.now().Add(c.ttl)
	return e.reader
}

// closeGrace is how long a replaced client stays usable for the reads that hold it.
const closeGrace = time.Minute

func closeLater(cl Client) {
	if closer, ok := cl.(Closer); ok {
		time.AfterFunc(closeGrace, closer.Close)
	}
}

// Forget drops every client of a store, e.g. when it is deleted.
func (c *ClientCache) Forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if k.uid == uid {
			closeLater(e.reader.Client())
			delete(c.entries, k)
		}
	}
}

// Generate runs a generator named by an ExternalSecret of namespace. Generator objects are
// read directly from the API server (no informer: they are read once per sync of the few
// ExternalSecrets that use them).
func (c *ClientCache) Generate(ctx context.Context, apiVersion, kind, name, namespace string) (map[string][]byte, error) {
	g, err := c.registry.Generator(apiVersion, kind)
	if err != nil {
		return nil, err
	}
	return g.Generate(ctx, c.kube, namespace, name)
}
