package sharding

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Labeller keeps the shard label of one sharded kind equal to the hash of each object's
// namespace/name. The replica that leads an object's shard labels it when it has no valid
// label (new objects, an upgrade, a changed shard count): it sees those through a
// metadata-only informer that selects exactly them, so that list stays short. The replica
// that caches an object under a wrong label (a tenant wrote it) puts it back. The label is
// a routing hint, never an authority: which replica reconciles an object is decided from
// the hash alone (the queues), so a wrong label can only delay an object until corrected.
type Labeller struct {
	c      *Caches
	shards *Shards
	client client.Client
	gvk    schema.GroupVersionKind
	queue  workqueue.TypedRateLimitingInterface[types.NamespacedName]
}

// NewLabeller returns the labeller of a sharded kind (proto, a typed object); add it to the
// manager. Call it before the shards start.
func (c *Caches) NewLabeller(shards *Shards, cl client.Client, proto client.Object) (*Labeller, error) {
	gvk, err := apiutil.GVKForObject(proto, c.scheme)
	if err != nil {
		return nil, err
	}
	if c.sharded[gvk] == nil {
		return nil, fmt.Errorf("%s is not a sharded kind", gvk.Kind)
	}
	l := &Labeller{c: c, shards: shards, client: cl, gvk: gvk,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName](),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "shard-labeller-" + gvk.Kind}),
	}
	shards.OnGain(l.gained)
	return l, nil
}

// NeedLeaderElection: every replica labels the objects of its own shards.
func (l *Labeller) NeedLeaderElection() bool { return false }

// Start watches for objects to label and labels them until ctx ends.
func (l *Labeller) Start(ctx context.Context) error {
	inf, err := l.c.base.GetInformer(ctx, l.metadata())
	if err != nil {
		return err
	}
	unassigned := func(o any) {
		if m, ok := o.(client.Object); ok && l.shards.Owns(client.ObjectKeyFromObject(m)) {
			l.queue.Add(client.ObjectKeyFromObject(m))
		}
	}
	if _, err := inf.AddEventHandler(handlerOf(unassigned)); err != nil {
		return err
	}
	if _, err := l.c.sharded[l.gvk].AddEventHandler(handlerOf(l.misplaced)); err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		l.queue.ShutDown()
	}()
	for range 2 {
		go l.work(ctx)
	}
	<-ctx.Done()
	return nil
}

// misplaced queues an object whose label names another shard than its hash: this replica
// holds it only because of the label, and moves it to its shard.
func (l *Labeller) misplaced(o any) {
	m, ok := o.(client.Object)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(m)
	if v, ok := labelShard(m.GetLabels(), l.c.count); ok && v != Of(key, l.c.count) {
		l.queue.Add(key)
	}
}

// gained queues the unlabelled objects of a shard this replica now leads.
func (l *Labeller) gained(shard int) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(l.gvk.GroupVersion().WithKind(l.gvk.Kind + "List"))
	if err := l.c.base.List(context.Background(), list); err != nil {
		l.shards.log.Error(err, "listing the objects to label", "kind", l.gvk.Kind)
		return
	}
	for i := range list.Items {
		if key := client.ObjectKeyFromObject(&list.Items[i]); Of(key, l.c.count) == shard {
			l.queue.Add(key)
		}
	}
}

func (l *Labeller) work(ctx context.Context) {
	for {
		key, shutdown := l.queue.Get()
		if shutdown {
			return
		}
		if err := l.label(ctx, key); err != nil {
			l.shards.log.Error(err, "labelling an object with its shard", "kind", l.gvk.Kind, "namespace", key.Namespace)
			l.queue.AddRateLimited(key)
		} else {
			l.queue.Forget(key)
		}
		l.queue.Done(key)
	}
}

// label writes an object's shard label (a merge patch of that one label).
func (l *Labeller) label(ctx context.Context, key types.NamespacedName) error {
	m := l.metadata()
	m.Namespace, m.Name = key.Namespace, key.Name
	patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, Label, LabelValue(key, l.c.count))
	err := l.client.Patch(ctx, m, client.RawPatch(types.MergePatchType, patch))
	return client.IgnoreNotFound(err)
}

func (l *Labeller) metadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(l.gvk)
	return m
}

// handlerOf calls f on additions and updates.
func handlerOf(f func(any)) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{AddFunc: f, UpdateFunc: func(_, o any) { f(o) }}
}
