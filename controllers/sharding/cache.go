package sharding

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Caches is the manager's cache when sharding is on. The kinds it shards (ExternalSecrets,
// and the Secrets Vigil writes) are held in one cache per shard this replica leads, whose
// informers select on the shard label: a replica holds 1/N of them. A shard's cache is
// started and synced when the replica acquires the shard, before it reconciles any of its
// objects, and stopped when it loses the shard. Every other kind lives in one base cache.
//
// Reads of a sharded kind see the shards this replica leads; event handlers added to a
// sharded kind's informer are attached to every shard's informer, present and future.
type Caches struct {
	count  int
	protos []client.Object // the sharded kinds (typed objects)

	scheme   *runtime.Scheme
	base     cache.Cache
	newShard func(i int) (cache.Cache, error)
	started  chan struct{} // closed by Start
	ctx      context.Context

	mu       sync.RWMutex
	shards   map[int]*shardCache
	sharded  map[schema.GroupVersionKind]*fanout
	indexes  []fieldIndex
	counters *counts
}

type shardCache struct {
	cache.Cache
	infs  map[schema.GroupVersionKind]cache.Informer // of the sharded kinds
	stop  context.CancelFunc
	ready bool // synced: reads may use it
}

type fieldIndex struct {
	obj     client.Object
	field   string
	extract client.IndexerFunc
}

// NewCaches returns the caches of count shards that split the kinds of protos (typed
// objects, e.g. &esv1.ExternalSecret{}). Pass its NewCache to the manager.
func NewCaches(count int, protos ...client.Object) *Caches {
	return &Caches{
		count: count, protos: protos, started: make(chan struct{}),
		shards: map[int]*shardCache{}, sharded: map[schema.GroupVersionKind]*fanout{}, counters: newCounts(),
	}
}

// NewCache is the manager's cache.NewCacheFunc.
func (c *Caches) NewCache(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
	c.scheme = opts.Scheme
	for _, p := range c.protos {
		gvk, err := apiutil.GVKForObject(p, opts.Scheme)
		if err != nil {
			return nil, err
		}
		c.sharded[gvk] = &fanout{c: c, gvk: gvk, proto: p}
	}
	baseOpts, err := c.baseOptions(opts)
	if err != nil {
		return nil, err
	}
	if c.base, err = cache.New(cfg, baseOpts); err != nil {
		return nil, err
	}
	c.newShard = func(i int) (cache.Cache, error) {
		o, err := c.shardOptions(opts, i)
		if err != nil {
			return nil, err
		}
		return cache.New(cfg, o)
	}
	return c, nil
}

// baseOptions: the base cache holds no sharded kind, except the metadata of the
// ExternalSecrets that carry no valid shard label yet (the labeller's work list).
func (c *Caches) baseOptions(opts cache.Options) (cache.Options, error) {
	by, _, err := c.splitByObject(opts)
	if err != nil {
		return opts, err
	}
	for gvk := range c.sharded {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		by[m] = cache.ByObject{Label: unassignedSelector(c.count)}
	}
	opts.ByObject = by
	return opts, nil
}

// shardOptions: shard i's cache selects, for each sharded kind, the objects labelled i
// (within the selector, transform and namespaces configured for the kind).
func (c *Caches) shardOptions(opts cache.Options, i int) (cache.Options, error) {
	by, own, err := c.splitByObject(opts)
	if err != nil {
		return opts, err
	}
	for gvk, f := range c.sharded {
		b := own[gvk]
		b.Label = shardSelector(b.Label, i)
		by[f.proto] = b
	}
	opts.ByObject = by
	return opts, nil
}

// splitByObject copies the per-kind options, without those of the sharded kinds, which it
// returns apart.
func (c *Caches) splitByObject(
	opts cache.Options,
) (map[client.Object]cache.ByObject, map[schema.GroupVersionKind]cache.ByObject, error) {
	by := map[client.Object]cache.ByObject{}
	own := map[schema.GroupVersionKind]cache.ByObject{}
	for obj, b := range opts.ByObject {
		gvk, err := apiutil.GVKForObject(obj, opts.Scheme)
		if err != nil {
			return nil, nil, err
		}
		if _, ok := c.sharded[gvk]; ok {
			if _, typed := obj.(*metav1.PartialObjectMetadata); !typed {
				own[gvk] = b
			}
			continue
		}
		by[obj] = b
	}
	return by, own, nil
}

// fanoutOf returns the fan-out informer of a sharded kind, or nil for another kind (and for
// metadata-only objects, which the base cache serves).
func (c *Caches) fanoutOf(obj runtime.Object) *fanout {
	if _, meta := obj.(*metav1.PartialObjectMetadata); meta {
		return nil
	}
	if _, meta := obj.(*metav1.PartialObjectMetadataList); meta {
		return nil
	}
	gvk, err := apiutil.GVKForObject(obj, c.scheme)
	if err != nil {
		return nil
	}
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	return c.sharded[gvk]
}

// ready returns the synced shard caches, in shard order.
func (c *Caches) ready() []*shardCache {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*shardCache
	for _, i := range slices.Sorted(maps.Keys(c.shards)) {
		if sc := c.shards[i]; sc.ready {
			out = append(out, sc)
		}
	}
	return out
}

// Get reads an object; one of a sharded kind from the shards this replica leads.
func (c *Caches) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	f := c.fanoutOf(obj)
	if f == nil {
		return c.base.Get(ctx, key, obj, opts...)
	}
	for _, sc := range c.ready() {
		if err := sc.Get(ctx, key, obj, opts...); !apierrors.IsNotFound(err) {
			return err
		}
	}
	gr := schema.GroupResource{Group: f.gvk.Group, Resource: strings.ToLower(f.gvk.Kind) + "s"}
	return apierrors.NewNotFound(gr, key.Name)
}

// List lists objects; those of a sharded kind from every shard this replica leads.
func (c *Caches) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if c.fanoutOf(list) == nil {
		return c.base.List(ctx, list, opts...)
	}
	var items []runtime.Object
	for _, sc := range c.ready() {
		part, ok := list.DeepCopyObject().(client.ObjectList)
		if !ok {
			return fmt.Errorf("copying %T", list)
		}
		if err := sc.List(ctx, part, opts...); err != nil {
			return err
		}
		got, err := apimeta.ExtractList(part)
		if err != nil {
			return err
		}
		items = append(items, got...)
	}
	return apimeta.SetList(list, items)
}

// GetInformer returns the informer of a kind; of a sharded kind, one that fans out to the
// shards' informers.
func (c *Caches) GetInformer(
	ctx context.Context, obj client.Object, opts ...cache.InformerGetOption,
) (cache.Informer, error) {
	if f := c.fanoutOf(obj); f != nil {
		return f, nil
	}
	return c.base.GetInformer(ctx, obj, opts...)
}

// GetInformerForKind is GetInformer by kind.
func (c *Caches) GetInformerForKind(
	ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption,
) (cache.Informer, error) {
	if f := c.sharded[gvk]; f != nil {
		return f, nil
	}
	return c.base.GetInformerForKind(ctx, gvk, opts...)
}

// RemoveInformer removes an informer of the base cache; the shards' come and go with the
// shards.
func (c *Caches) RemoveInformer(ctx context.Context, obj client.Object) error {
	if c.fanoutOf(obj) != nil {
		return fmt.Errorf("the informers of %T follow the shards and cannot be removed", obj)
	}
	return c.base.RemoveInformer(ctx, obj)
}

// Start runs the base cache until ctx ends; shard caches run from Acquire to Release.
func (c *Caches) Start(ctx context.Context) error {
	c.ctx = ctx
	close(c.started)
	return c.base.Start(ctx)
}

// WaitForCacheSync waits for the base cache and the shards' caches.
func (c *Caches) WaitForCacheSync(ctx context.Context) bool {
	if !c.base.WaitForCacheSync(ctx) {
		return false
	}
	for _, sc := range c.ready() {
		if !sc.WaitForCacheSync(ctx) {
			return false
		}
	}
	return true
}

// IndexField adds a field index; on a sharded kind, to every shard's cache.
func (c *Caches) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	if c.fanoutOf(obj) == nil {
		return c.base.IndexField(ctx, obj, field, extract)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.indexes = append(c.indexes, fieldIndex{obj: obj, field: field, extract: extract})
	for _, sc := range c.shards {
		if err := sc.IndexField(ctx, obj, field, extract); err != nil {
			return err
		}
	}
	return nil
}
