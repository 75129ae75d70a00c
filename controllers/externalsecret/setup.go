package externalsecret

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/secrethash"
	"github.com/vigil-dev/vigil/controllers/internal/storeref"
	"github.com/vigil-dev/vigil/providers"
)

// storeRefIndex indexes ExternalSecrets by "Kind/name" of the store they read from, so that
// a store change requeues exactly its users.
const storeRefIndex = "vigil.dev/store-ref"

func storeRefKey(kind, name string) string {
	if kind == "" {
		kind = esv1.SecretStoreKind
	}
	return kind + "/" + name
}

// storeKeys lists every store an ExternalSecret reads from: spec.secretStoreRef and the
// stores its entries name in sourceRef.storeRef.
func storeKeys(es *esv1.ExternalSecret) []string {
	return slices.Sorted(maps.Keys(storeRefs(es)))
}

// storeRefs maps the key of every store an ExternalSecret reads from to its reference.
func storeRefs(es *esv1.ExternalSecret) map[string]esv1.SecretStoreRef {
	seen := map[string]esv1.SecretStoreRef{}
	add := func(ref esv1.SecretStoreRef) {
		if ref.Name != "" {
			seen[storeRefKey(ref.Kind, ref.Name)] = ref
		}
	}
	add(es.Spec.SecretStoreRef)
	for _, d := range es.Spec.Data {
		if d.SourceRef != nil {
			add(d.SourceRef.SecretStoreRef)
		}
	}
	for _, d := range es.Spec.DataFrom {
		if d.SourceRef != nil && d.SourceRef.SecretStoreRef != nil {
			add(*d.SourceRef.SecretStoreRef)
		}
	}
	return seen
}

// SetupWithManager registers the reconciler and its watches.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts controller.Options) error {
	err := mgr.GetFieldIndexer().IndexField(ctx, &esv1.ExternalSecret{}, storeRefIndex, func(o client.Object) []string {
		return storeKeys(o.(*esv1.ExternalSecret))
	})
	if err != nil {
		return err
	}
	watches := []watch{
		// Not For(): its handler queues every ExternalSecret of the informer's first list at
		// low priority, also those that wait for a change (esEvents). The logs keep For's
		// form (logConstructor).
		{obj: &esv1.ExternalSecret{}, handler: &esEvents{}},
		// Owned Secrets: a deleted or edited Secret is rewritten at once; the writes of this
		// controller (data matching its hash) are not edits.
		{obj: &corev1.Secret{}, handler: handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(),
			&esv1.ExternalSecret{}, handler.OnlyControllerOwner()), preds: []predicate.Predicate{secretEdited}},
		// A store's deletion, spec change or status change (it became Valid, or broke)
		// requeues its ExternalSecrets, which then check their stores (syncDue); only these
		// changes matter, not every resync.
		{obj: &esv1.SecretStore{}, handler: r.storeEvents(), preds: []predicate.Predicate{storeChanged}},
		// A namespace's deletion-protection annotation decides its ExternalSecrets' finalizer.
		{obj: &corev1.Namespace{}, handler: handler.EnqueueRequestsFromMapFunc(r.inNamespace),
			preds: []predicate.Predicate{protectionAnnotationChanged}},
	}
	if !r.NoClusterStores {
		watches = append(watches, watch{obj: &esv1.ClusterSecretStore{}, handler: r.storeEvents(),
			preds: []predicate.Predicate{storeChanged}})
	}
	b := ctrl.NewControllerManagedBy(mgr).Named("externalsecret")
	for _, w := range watches {
		src, err := informerSource(ctx, mgr, w)
		if err != nil {
			return err
		}
		b = b.WatchesRawSource(src)
	}
	// WithOptions replaces every option the builder holds: the log constructor goes in opts.
	opts.LogConstructor = logConstructor(mgr.GetLogger())
	return b.WithOptions(opts).Complete(r)
}

var storeChanged = predicate.Or(predicate.GenerationChangedPredicate{}, storeref.ReadyChanged)

// watch is one kind the controller watches: its objects' events go through preds to handler.
type watch struct {
	obj     client.Object
	handler handler.EventHandler
	preds   []predicate.Predicate
}

// informerSource is the source of one watch: the cache's informer of its kind, handed to the
// controller as an Informer source rather than the Kind source Watches builds. A Kind source
// makes the controller's start wait until its handler has been given the informer's
// contents, checking every 100 ms, so the workers started 100 ms after the first
// ExternalSecrets were queued; with an Informer source they start with the first. Nothing
// is read early: the manager starts controllers after its caches have synced, and an event
// reaches the handler after the informer's store holds its object.
func informerSource(ctx context.Context, mgr ctrl.Manager, w watch) (source.Source, error) {
	inf, err := mgr.GetCache().GetInformer(ctx, w.obj, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("the %T informer: %w", w.obj, err)
	}
	return namedSource{Informer: &source.Informer{Informer: inf, Handler: w.handler, Predicates: w.preds},
		name: fmt.Sprintf("informer source: %T", w.obj)}, nil
}

// namedSource names its kind in the controller's "Starting EventSource" log, where an
// Informer source gives its address.
type namedSource struct {
	*source.Informer
	name string
}

func (s namedSource) String() string { return s.name }

// storeEvents requeues the users of a store and releases what the client cache holds of a
// deleted or changed store. It runs in every replica (the informer's events are not
// sharded), so each replica's cache lets go of the store.
func (r *Reconciler) storeEvents() handler.EventHandler {
	return storeEvents{EventHandler: handler.EnqueueRequestsFromMapFunc(r.usersOf), clients: r.Providers}
}

type storeEvents struct {
	handler.EventHandler // requeues the users
	clients              *providers.ClientCache
}

// Update drops the clients of a store whose spec changed: they were built from the old one.
func (h storeEvents) Update(
	ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request],
) {
	if h.clients != nil && e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() {
		h.clients.Changed(e.ObjectNew.GetUID())
	}
	h.EventHandler.Update(ctx, e, q)
}

// Delete drops the clients, credentials and values of a deleted store, so that no read can
// succeed through them afterwards.
func (h storeEvents) Delete(
	ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request],
) {
	if h.clients != nil {
		h.clients.Forget(e.Object.GetUID())
	}
	h.EventHandler.Delete(ctx, e, q)
}

// usersOf lists the ExternalSecrets that read from a store.
func (r *Reconciler) usersOf(ctx context.Context, o client.Object) []reconcile.Request {
	store := o.(esv1.GenericStore)
	var list esv1.ExternalSecretList
	opts := []client.ListOption{client.MatchingFields{storeRefIndex: storeRefKey(store.GetKind(), store.GetName())}}
	if store.GetKind() == esv1.SecretStoreKind {
		opts = append(opts, client.InNamespace(store.GetNamespace()))
	}
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing ExternalSecrets of a store", "store", store.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, es := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&es)})
	}
	return reqs
}

// esEvents queues an ExternalSecret on its events, as controller-runtime's
// EnqueueRequestForObject does (which For() uses), but for one case. That handler queues every
// object of the informer's first list at low priority, behind whatever changes later: right
// for the periodic refreshes a start finds due, wrong for an ExternalSecret created or edited
// while the controller was down or starting (an upgrade, a takeover, a shard gained), whose
// user waits for it. Those go at the default priority (waitsForChange): the priority lane
// holds across restarts. One whose last attempt failed and that nobody changed since stays
// low, as do those of another controller class once they carry a status: a tenant cannot
// have their objects put ahead at every restart without editing them, which gives the same
// while the controller runs.
type esEvents struct {
	handler.EnqueueRequestForObject
}

func (h *esEvents) Create(
	ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request],
) {
	es, isES := e.Object.(*esv1.ExternalSecret)
	pq, isPriorityQueue := q.(priorityqueue.PriorityQueue[reconcile.Request])
	if !isES || !isPriorityQueue || !e.IsInInitialList || !waitsForChange(es) {
		h.EnqueueRequestForObject.Create(ctx, e, q)
		return
	}
	pq.AddWithOpts(priorityqueue.AddOpts{}, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(es)})
}

// waitsForChange reports whether es was created or changed since the controller last
// handled it: no Ready condition yet; after a failure, a spec newer than the failed
// attempt's; after a success, what syncDue calls a change (spec, labels or annotations such
// as force-sync).
func waitsForChange(es *esv1.ExternalSecret) bool {
	ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
	switch {
	case ready == nil:
		return true
	case ready.Status != metav1.ConditionTrue:
		return ready.ObservedGeneration != es.Generation
	}
	return changedOrFailed(es)
}

// logConstructor is the logger of each reconcile, in the form controller-runtime's builder
// gives a controller built with For(&ExternalSecret{}).
func logConstructor(base logr.Logger) func(*reconcile.Request) logr.Logger {
	log := base.WithValues("controller", "externalsecret",
		"controllerGroup", esv1.GroupVersion.Group, "controllerKind", esv1.ExternalSecretKind)
	return func(req *reconcile.Request) logr.Logger {
		if req == nil {
			return log
		}
		return log.WithValues(esv1.ExternalSecretKind, klog.KRef(req.Namespace, req.Name),
			"namespace", req.Namespace, "name", req.Name)
	}
}

// secretEdited passes deletions of owned Secrets and updates whose data no longer matches
// the hash Vigil wrote with it.
var secretEdited = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		s, ok := e.ObjectNew.(*corev1.Secret)
		return !ok || s.Annotations[esv1.AnnotationDataHash] != secrethash.OfSecret(s) ||
			s.Labels[esv1.LabelManaged] != esv1.LabelManagedValue
	},
}
