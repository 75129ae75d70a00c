package rollout

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/secrethash"
	"github.com/vigil-dev/vigil/controllers/internal/target"
)

// The rollout controllers read and patch workloads, recreate Jobs and run Jobs of CronJobs
// (as Reloader), and with rollouts.scope all read ConfigMaps. `make generate` copies these
// rules to the chart's rollout part (hack/chart-sync), granted only with rollouts.enabled.
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=batch,resources=cronjobs,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;patch;create;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch

// Cache indexes that map a Secret or ConfigMap to the workloads it may roll, without List
// calls.
const (
	secretRefIndex     = "vigil.dev/secret-ref"     // workload -> Secrets its pod template references
	configMapRefIndex  = "vigil.dev/configmap-ref"  // workload -> ConfigMaps its pod template references
	reloadListIndex    = "vigil.dev/reload-list"    // workload -> the kinds it has a reload list for
	rolloutTargetIndex = "vigil.dev/rollout-target" // ExternalSecret -> "kind/name" of its targets
	targetSecretIndex  = "vigil.dev/target-secret"  // ExternalSecret with rollout targets -> its Secret
)

// ArgoRolloutsInstalled reports whether the API server serves Argo Rollouts.
func ArgoRolloutsInstalled(mapper meta.RESTMapper) bool {
	_, err := mapper.RESTMapping(ArgoRolloutGVK.GroupKind(), ArgoRolloutGVK.Version)
	return err == nil
}

// IndexExternalSecrets adds the ExternalSecret indexes the rollout controllers share.
func IndexExternalSecrets(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &esv1.ExternalSecret{}, rolloutTargetIndex, func(o client.Object) []string {
		return parseTargets(o.GetAnnotations()[AnnotationRolloutTargets])
	}); err != nil {
		return err
	}
	// Only ExternalSecrets that name rollout targets: targetsOf reads nothing else, and an
	// index entry per ExternalSecret (a set per Secret name, twice with the all-namespaces
	// key) was megabytes at 10,000.
	return idx.IndexField(ctx, &esv1.ExternalSecret{}, targetSecretIndex, func(o client.Object) []string {
		if len(parseTargets(o.GetAnnotations()[AnnotationRolloutTargets])) == 0 {
			return nil
		}
		return []string{target.Name(o.(*esv1.ExternalSecret))}
	})
}

// SetupWithManager registers the reconciler for its kind. IndexExternalSecrets must have
// run first.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts controller.Options) error {
	if err := r.index(ctx, mgr); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("rollout-"+r.Kind.Name).
		// The workload itself, debounced like Secret changes: a new workload records its
		// baseline; a resumed one gets its pending rollout.
		Watches(r.Kind.New(), r.debounced(func(_ context.Context, o client.Object) []reconcile.Request {
			key := client.ObjectKeyFromObject(o)
			if r.Shards != nil && !r.Shards.Owns(key) {
				return nil
			}
			return []reconcile.Request{{NamespacedName: key}}
		}), builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&corev1.Secret{}, r.debounced(r.shardedWorkloadsOf), builder.WithPredicates(dataChanged))
	if r.configMaps() {
		b = b.Watches(&corev1.ConfigMap{}, r.debounced(r.shardedWorkloadsOf), builder.WithPredicates(dataChanged))
	}
	return b.WithOptions(opts).Complete(r)
}

// index adds the indexes that map a Secret or ConfigMap to the workloads of this kind.
func (r *Reconciler) index(ctx context.Context, mgr ctrl.Manager) error {
	refs := func(o client.Object) (references, map[string]string, bool) {
		if r.Kind.LeaveControlled && metav1.GetControllerOf(o) != nil {
			return references{}, nil, false
		}
		t, err := r.Kind.Template(o)
		if err != nil {
			return references{}, nil, false
		}
		return referencesOf(&t.Spec), t.Annotations, true
	}
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, r.Kind.New(), secretRefIndex, func(o client.Object) []string {
		refs, _, _ := refs(o)
		return refs.Secrets
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, r.Kind.New(), configMapRefIndex, func(o client.Object) []string {
		refs, _, _ := refs(o)
		return refs.ConfigMaps
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, r.Kind.New(), reloadListIndex, func(o client.Object) []string {
		_, template, ok := refs(o)
		var out []string
		for _, kind := range []string{KindSecret, KindConfigMap} {
			if ok && effectiveAnnotations(kind, o.GetAnnotations(), template)[annotationsFor(kind).reload] != "" {
				out = append(out, kind)
			}
		}
		return out
	})
}

// dataChanged passes Secret and ConfigMap creations and updates that change the data;
// metadata-only writes are dropped here already.
var dataChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool { return dataHash(e.ObjectOld) != dataHash(e.ObjectNew) },
	DeleteFunc: func(event.DeleteEvent) bool { return false },
}

func dataHash(o client.Object) string {
	switch v := o.(type) {
	case *corev1.Secret:
		return secrethash.OfSecret(v)
	case *corev1.ConfigMap:
		return configMapHash(v)
	}
	return ""
}

// sourceOf describes a watched Secret or ConfigMap.
func sourceOf(o client.Object) source {
	if _, ok := o.(*corev1.ConfigMap); ok {
		return source{Kind: KindConfigMap, Name: o.GetName(), Annotations: o.GetAnnotations()}
	}
	return source{Kind: KindSecret, Name: o.GetName(), Annotations: o.GetAnnotations()}
}

// debounced enqueues the mapped workloads after the debounce window. The queue holds one
// entry per workload, so every change that arrives within the window joins the same
// rollout.
func (r *Reconciler) debounced(mapFn func(context.Context, client.Object) []reconcile.Request) handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	add := func(ctx context.Context, o client.Object, q queue) {
		if _, ok := o.(*corev1.Secret); ok {
			r.Changes.Mark(o.GetNamespace(), o.GetName(), time.Now())
		} else if _, ok := o.(*corev1.ConfigMap); ok {
			r.Changes.Mark(o.GetNamespace(), sourceOf(o).key(), time.Now())
		}
		for _, req := range mapFn(ctx, o) {
			q.AddAfter(req, r.Options.Debounce)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) {
			add(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			add(ctx, e.ObjectNew, q)
		},
	}
}

// shardedWorkloadsOf is workloadsOf on the one replica that reconciles the change (see
// Reconciler.Shards).
func (r *Reconciler) shardedWorkloadsOf(ctx context.Context, o client.Object) []reconcile.Request {
	if r.Shards == nil {
		return r.workloadsOf(ctx, o)
	}
	if leads, labelled := r.Shards.LeadsLabelled(o); labelled {
		if !leads {
			return nil
		}
		return r.workloadsOf(ctx, o)
	}
	notOwned := func(q reconcile.Request) bool { return !r.Shards.Owns(q.NamespacedName) }
	return slices.DeleteFunc(r.workloadsOf(ctx, o), notOwned)
}

// workloadsOf maps a Secret or ConfigMap to the workloads of this kind it may roll: those
// whose pod template references it, those whose reload list names it, and (Secrets) the
// targets of its ExternalSecrets; at most MaxWorkloadsPerEvent. Whether they opt in is
// decided in Reconcile.
func (r *Reconciler) workloadsOf(ctx context.Context, o client.Object) []reconcile.Request {
	src := sourceOf(o)
	if isTrue(src.Annotations[ReloaderIgnore]) {
		return nil
	}
	refIndex := secretRefIndex
	if src.Kind == KindConfigMap {
		refIndex = configMapRefIndex
	}
	names := map[string]bool{}
	for _, q := range []struct {
		index, value string
		filter       func(client.Object) bool
	}{
		{refIndex, src.Name, func(client.Object) bool { return true }},
		{reloadListIndex, src.Kind, func(w client.Object) bool { return r.reloadListNames(w, src) }},
	} {
		objs, err := r.Kind.find(ctx, r.Client, o.GetNamespace(), q.index, q.value)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "looking up workloads", "kind", src.Kind, "name", src.Name)
			continue
		}
		for _, w := range objs {
			if q.filter(w) {
				names[w.GetName()] = true
			}
		}
	}
	if src.Kind == KindSecret {
		for _, name := range r.targetsOf(ctx, o) {
			names[name] = true
		}
	}
	return r.bounded(ctx, src, o.GetNamespace(), names)
}

// reloadListNames reports whether the workload's effective reload list names the source.
func (r *Reconciler) reloadListNames(w client.Object, src source) bool {
	t, err := r.Kind.Template(w)
	if err != nil {
		return false
	}
	ann := effectiveAnnotations(src.Kind, w.GetAnnotations(), t.Annotations)
	return matchesReloadList(ann[annotationsFor(src.Kind).reload], src.Name)
}

// targetsOf lists the workloads of this kind that the ExternalSecrets of a Secret name in
// vigil.dev/rollout-targets.
func (r *Reconciler) targetsOf(ctx context.Context, s client.Object) []string {
	var ess esv1.ExternalSecretList
	bySecret := client.MatchingFields{targetSecretIndex: s.GetName()}
	// Read only: the cache's objects, not copies (see Kind.find).
	opts := []client.ListOption{client.InNamespace(s.GetNamespace()), bySecret, client.UnsafeDisableDeepCopy}
	if err := r.Client.List(ctx, &ess, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "looking up ExternalSecrets of a Secret", "secret", s.GetName())
		return nil
	}
	var out []string
	for _, es := range ess.Items {
		for _, t := range parseTargets(es.Annotations[AnnotationRolloutTargets]) {
			if kind, name, _ := strings.Cut(t, "/"); kind == r.Kind.Name {
				out = append(out, name)
			}
		}
	}
	return out
}

// bounded turns workload names into requests, at most MaxWorkloadsPerEvent of them (by
// name, so the same ones each time); the rest are dropped, logged and counted.
func (r *Reconciler) bounded(
	ctx context.Context, src source, namespace string, names map[string]bool,
) []reconcile.Request {
	sorted := slices.Sorted(maps.Keys(names))
	if len(sorted) > MaxWorkloadsPerEvent {
		ctrl.LoggerFrom(ctx).Info("a change maps to more workloads than the limit; the rest do not roll",
			"kind", src.Kind, "name", src.Name, "namespace", namespace, "workloadKind", r.Kind.Name,
			"workloads", len(sorted), "limit", MaxWorkloadsPerEvent)
		r.Metrics.RolloutSkipped("toomany")
		sorted = sorted[:MaxWorkloadsPerEvent]
	}
	out := make([]reconcile.Request, len(sorted))
	for i, name := range sorted {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKey{Namespace: namespace, Name: name}}
	}
	return out
}
