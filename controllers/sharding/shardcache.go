package sharding

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// Acquire starts the cache of shard i and waits until it has synced, so that the shard's
// objects are all read before the replica reconciles them. The shard's informers get every
// event handler added so far (their first list reaches the controllers' queues).
func (c *Caches) Acquire(ctx context.Context, i int) error {
	select {
	case <-c.started:
	case <-ctx.Done():
		return ctx.Err()
	}
	sc, err := c.prepare(i)
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(c.ctx)
	sc.stop = stop
	c.mu.Lock()
	if old := c.shards[i]; old != nil {
		old.stop()
	}
	c.shards[i] = sc
	err = c.attach(i, sc)
	c.mu.Unlock()
	if err != nil {
		c.Release(i)
		return err
	}
	go func() { _ = sc.Start(sctx) }()
	if !sc.WaitForCacheSync(ctx) {
		c.Release(i)
		return fmt.Errorf("the cache of shard %d did not sync", i)
	}
	c.mu.Lock()
	if c.shards[i] == sc {
		sc.ready = true
	}
	c.mu.Unlock()
	return nil
}

// prepare builds shard i's cache with the field indexes of the sharded kinds.
func (c *Caches) prepare(i int) (*shardCache, error) {
	cc, err := c.newShard(i)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	indexes := c.indexes
	c.mu.RUnlock()
	for _, ix := range indexes {
		// Not started yet: this only registers the index.
		if err := cc.IndexField(context.Background(), ix.obj, ix.field, ix.extract); err != nil {
			return nil, err
		}
	}
	return &shardCache{Cache: cc, infs: map[schema.GroupVersionKind]cache.Informer{}}, nil
}

// attach adds the handlers of every sharded kind to shard i's informers, and the counters
// of the cached objects. Holds c.mu.
func (c *Caches) attach(i int, sc *shardCache) error {
	for _, f := range c.sharded {
		inf, err := sc.GetInformer(context.Background(), f.proto, cache.BlockUntilSynced(false))
		if err != nil {
			return err
		}
		sc.infs[f.gvk] = inf
		if _, err := inf.AddEventHandler(c.counters.handler(i, f.gvk.Kind)); err != nil {
			return err
		}
		for _, ix := range f.indexers {
			if err := inf.AddIndexers(ix); err != nil {
				return err
			}
		}
		for _, r := range f.handlers {
			reg, err := inf.AddEventHandlerWithOptions(r.handler, r.options)
			if err != nil {
				return err
			}
			r.regs[i] = reg
		}
	}
	return nil
}

// Release stops the cache of shard i: its objects leave this replica's memory.
func (c *Caches) Release(i int) {
	c.mu.Lock()
	sc := c.shards[i]
	delete(c.shards, i)
	for _, f := range c.sharded {
		for _, r := range f.handlers {
			delete(r.regs, i)
		}
	}
	c.counters.drop(i)
	c.mu.Unlock()
	if sc != nil {
		sc.stop()
	}
}
