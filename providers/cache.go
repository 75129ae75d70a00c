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
// multiply the API and STS traffic. Entries are keyed by store UID and generation, so a
// changed store gets a new client at once, and expire after a TTL so that rotated static
// keys in a referenced Secret are picked up. Concurrent misses for the same key build one
// client.
type ClientCache struct {
	registry *Registry
	kube     client.Client
	ttl      time.Duration
	now      func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
	flight  singleflight.Group
}

type cacheKey struct {
	uid        types.UID
	generation int64
	namespace  string
}

type cacheEntry struct {
	client  Client
	expires time.Time
}

// NewClientCache returns a cache that builds clients through the registry.
func NewClientCache(registry *Registry, kube client.Client, ttl time.Duration) *ClientCache {
	return &ClientCache{registry: registry, kube: kube, ttl: ttl, now: time.Now, entries: map[cacheKey]cacheEntry{}}
}

// Registry returns the registry the cache builds clients with.
func (c *ClientCache) Registry() *Registry { return c.registry }

// Get returns a client for the store as used from namespace.
func (c *ClientCache) Get(ctx context.Context, store esv1.GenericStore, namespace string) (Client, error) {
	key := cacheKey{uid: store.GetUID(), generation: store.GetGeneration()}
	if store.GetKind() == esv1.ClusterSecretStoreKind {
		// Credential references of a ClusterSecretStore may resolve per namespace.
		key.namespace = namespace
	}
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.client, nil
	}
	v, err, _ := c.flight.Do(fmt.Sprintf("%s/%d/%s", key.uid, key.generation, key.namespace), func() (any, error) {
		p, err := c.registry.ForStore(store)
		if err != nil {
			return nil, err
		}
		cl, err := p.NewClient(ctx, store, c.kube, namespace)
		if err != nil {
			return nil, err
		}
		c.put(key, cl)
		return cl, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(Client), nil
}

func (c *ClientCache) put(key cacheKey, cl Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		// A store's older generations will not be asked for again.
		if k.uid == key.uid && k.generation != key.generation {
			delete(c.entries, k)
		}
	}
	c.entries[key] = cacheEntry{client: cl, expires: c.now().Add(c.ttl)}
}

// Forget drops every client of a store, e.g. when it is deleted.
func (c *ClientCache) Forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if k.uid == uid {
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
