package manager

import (
	"context"
	"maps"
	"slices"
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
type promptCache struct {
	cache.Cache

	mu       sync.Mutex
	checkers map[syncChecker]toolscache.DoneChecker
}

// promptly wraps newCache's caches in promptCache.
func promptly(newCache cache.NewCacheFunc) cache.NewCacheFunc {
	return func(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
		c, err := newCache(cfg, opts)
		if err != nil {
			return nil, err
		}
		return &promptCache{Cache: c, checkers: map[syncChecker]toolscache.DoneChecker{}}, nil
	}
}

// syncChecker is what client-go's informers offer besides HasSynced. Only an unsharded
// cache is wrapped: the sharded fan-out's checker polls too, in a goroutine per wait.
type syncChecker interface {
	HasSyncedChecker() toolscache.DoneChecker
}

func (c *promptCache) track(i cache.Informer) {
	sc, ok := i.(syncChecker)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.checkers[sc]; !seen {
		c.checkers[sc] = sc.HasSyncedChecker()
	}
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

// RemoveInformer forgets the informer's checker: a removed informer that had not synced
// would hold every later wait.
func (c *promptCache) RemoveInformer(ctx context.Context, obj client.Object) error {
	if i, err := c.Cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err == nil {
		if sc, ok := i.(syncChecker); ok {
			c.mu.Lock()
			delete(c.checkers, sc)
			c.mu.Unlock()
		}
	}
	return c.Cache.RemoveInformer(ctx, obj)
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

func (c *promptCache) WaitForCacheSync(ctx context.Context) bool {
	c.mu.Lock()
	checkers := slices.Collect(maps.Values(c.checkers))
	c.mu.Unlock()
	return toolscache.WaitFor(ctx, "", checkers...) && c.Cache.WaitForCacheSync(ctx)
}
