package sharding

import (
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fanout is the informer of a sharded kind that the controllers see: the handlers added to
// it are attached to the informer of every shard this replica leads, now and later.
type fanout struct {
	c     *Caches
	gvk   schema.GroupVersionKind
	proto client.Object

	// Guarded by c.mu.
	handlers []*registration
	indexers []toolscache.Indexers
}

// registration is one handler added to a fanout, with its registration on each shard's
// informer.
type registration struct {
	handler toolscache.ResourceEventHandler
	options toolscache.HandlerOptions
	regs    map[int]toolscache.ResourceEventHandlerRegistration
	c       *Caches
}

func (f *fanout) AddEventHandler(
	h toolscache.ResourceEventHandler,
) (toolscache.ResourceEventHandlerRegistration, error) {
	return f.AddEventHandlerWithOptions(h, toolscache.HandlerOptions{})
}

func (f *fanout) AddEventHandlerWithResyncPeriod(
	h toolscache.ResourceEventHandler, d time.Duration,
) (toolscache.ResourceEventHandlerRegistration, error) {
	return f.AddEventHandlerWithOptions(h, toolscache.HandlerOptions{ResyncPeriod: &d})
}

func (f *fanout) AddEventHandlerWithOptions(
	h toolscache.ResourceEventHandler, o toolscache.HandlerOptions,
) (toolscache.ResourceEventHandlerRegistration, error) {
	r := &registration{handler: h, options: o, regs: map[int]toolscache.ResourceEventHandlerRegistration{}, c: f.c}
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	for i, sc := range f.c.shards {
		reg, err := sc.infs[f.gvk].AddEventHandlerWithOptions(h, o)
		if err != nil {
			return nil, err
		}
		r.regs[i] = reg
	}
	f.handlers = append(f.handlers, r)
	return r, nil
}

func (f *fanout) RemoveEventHandler(handle toolscache.ResourceEventHandlerRegistration) error {
	r, ok := handle.(*registration)
	if !ok {
		return nil
	}
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	f.handlers = slices.DeleteFunc(f.handlers, func(x *registration) bool { return x == r })
	for i, reg := range r.regs {
		if sc := f.c.shards[i]; sc != nil {
			_ = sc.infs[f.gvk].RemoveEventHandler(reg)
		}
	}
	clear(r.regs)
	return nil
}

func (f *fanout) AddIndexers(ix toolscache.Indexers) error {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	f.indexers = append(f.indexers, ix)
	for _, sc := range f.c.shards {
		if err := sc.infs[f.gvk].AddIndexers(ix); err != nil {
			return err
		}
	}
	return nil
}

// HasSynced: every shard's informer has synced; with no shard led, there is nothing to
// wait for (the controllers start, and the shards' objects arrive when they are acquired).
func (f *fanout) HasSynced() bool {
	f.c.mu.RLock()
	defer f.c.mu.RUnlock()
	for _, sc := range f.c.shards {
		if !sc.infs[f.gvk].HasSynced() {
			return false
		}
	}
	return true
}

func (f *fanout) HasSyncedChecker() toolscache.DoneChecker { return polled{f.HasSynced} }

func (f *fanout) IsStopped() bool { return false }

// HasSynced: the handler has been given every shard's initial objects.
func (r *registration) HasSynced() bool {
	r.c.mu.RLock()
	defer r.c.mu.RUnlock()
	for _, reg := range r.regs {
		if !reg.HasSynced() {
			return false
		}
	}
	return true
}

func (r *registration) HasSyncedChecker() toolscache.DoneChecker { return polled{r.HasSynced} }

// polled is a DoneChecker over a condition that changes as shards come and go.
type polled struct{ done func() bool }

func (p polled) Name() string { return "sharded informer" }

func (p polled) Done() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for !p.done() {
			<-t.C
		}
		close(ch)
	}()
	return ch
}
