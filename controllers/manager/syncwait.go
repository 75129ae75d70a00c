package manager

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// promptCache is a cache whose WaitForCacheSync returns as soon as its informers have
// synced. controller-runtime's checks every informer every 100 ms (client-go's
// WaitForCacheSync), and the manager starts no controller before it returns: a start waited
// up to 100 ms after the last informer had listed. client-go's informers offer a channel
// that closes when they have synced (HasSyncedChecker); this waits on those of the
// informers asked for through it (the controllers' watches, startInformersEarly, the
// indexes), then asks the cache itself, which finds them synced at its first check, and
// still polls for any informer made elsewhere (a first read of a kind nobody registered).
// Only an unsharded cache is wrapped: the sharded fan-out's checker polls, in a goroutine
// per wait.
type promptCache struct {
	cache.Cache

	mu        sync.Mutex
	informers map[cache.Informer]bool
}

// promptly wraps newCache's caches in promptCache.
func promptly(newCache cache.NewCacheFunc) cache.NewCacheFunc {
	return func(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
		c, err := newCache(cfg, opts)
		if err != nil {
			return nil, err
		}
		return &promptCache{Cache: c, informers: map[cache.Informer]bool{}}, nil
	}
}

func (c *promptCache) track(i cache.Informer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.informers[i] = true
}

func (c *promptCache) GetInformer(
	ctx context.Context, obj client.Object, opts ...cache.InformerGetOption,
) (cache.Informer, error) {
	i, err := c.Cache.GetInformer(ctx, obj, opts...)
	if err == nil {
		c.track(i)
	}
	return i, err
}

func (c *promptCache) GetInformerForKind(
	ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption,
) (cache.Informer, error) {
	i, err := c.Cache.GetInformerForKind(ctx, gvk, opts...)
	if err == nil {
		c.track(i)
	}
	return i, err
}

// IndexField registers the kind's informer too (the cache makes it for the index).
func (c *promptCache) IndexField(
	ctx context.Context, obj client.Object, field string, extract client.IndexerFunc,
) error {
	if err := c.Cache.IndexField(ctx, obj, field, extract); err != nil {
		return err
	}
	_, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	return err
}

// WaitForCacheSync waits for the informers asked for, but those stopped (removed: a
// removed informer that had not synced would hold every later wait), then asks the cache.
func (c *promptCache) WaitForCacheSync(ctx context.Context) bool {
	c.mu.Lock()
	var checkers []toolscache.DoneChecker
	for i := range c.informers {
		if i.IsStopped() {
			delete(c.informers, i)
			continue
		}
		checkers = append(checkers, i.HasSyncedChecker())
	}
	c.mu.Unlock()
	return toolscache.WaitFor(ctx, "", checkers...) && c.Cache.WaitForCacheSync(ctx)
}
