package rollout

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
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
)

// The rollout controllers read and patch workloads. `make generate` copies these rules to
// the chart's rollout part (hack/chart-sync), granted only with rollouts.enabled.
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts,verbs=get;list;watch;patch

// Cache indexes that map a Secret to the workloads it may roll, without List calls.
const (
	secretRefIndex     = "vigil.dev/secret-ref"     // workload -> Secrets its pod template references
	reloadListIndex    = "vigil.dev/reload-list"    // workload -> "true" when it has a reload list
	rolloutTargetIndex = "vigil.dev/rollout-target" // ExternalSecret -> "kind/name" of its targets
	targetSecretIndex  = "vigil.dev/target-secret"  // ExternalSecret -> its Secret
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
	return idx.IndexField(ctx, &esv1.ExternalSecret{}, targetSecretIndex, func(o client.Object) []string {
		return []string{targetSecret(o.(*esv1.ExternalSecret))}
	})
}

// SetupWithManager registers the reconciler for its kind. IndexExternalSecrets must have
// run first.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts controller.Options) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, r.Kind.New(), secretRefIndex, func(o client.Object) []string {
		t, err := r.Kind.Template(o)
		if err != nil {
			return nil
		}
		return referencedSecrets(&t.Spec)
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, r.Kind.New(), reloadListIndex, func(o client.Object) []string {
		if o.GetAnnotations()[ReloaderSecretReload] != "" {
			return []string{"true"}
		}
		return nil
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("rollout-"+r.Kind.Name).
		// The workload itself, debounced like Secret changes: a new workload records its
		// baseline; a resumed one gets its pending rollout.
		Watches(r.Kind.New(), r.debounced(func(_ context.Context, o client.Object) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(o)}}
		}), builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&corev1.Secret{}, r.debounced(r.workloadsOf), builder.WithPredicates(dataChanged)).
		WithOptions(opts).
		Complete(r)
}

// dataChanged passes Secret creations and updates that change the data; metadata-only
// writes are dropped here already.
var dataChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*corev1.Secret), e.ObjectNew.(*corev1.Secret)
		return secrethash.Of(o.Type, o.Data) != secrethash.Of(n.Type, n.Data)
	},
	DeleteFunc: func(event.DeleteEvent) bool { return false },
}

// debounced enqueues the mapped workloads after the debounce window. The queue holds one
// entry per workload, so every change that arrives within the window joins the same
// rollout.
func (r *Reconciler) debounced(mapFn func(context.Context, client.Object) []reconcile.Request) handler.EventHandler {
	add := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if s, ok := o.(*corev1.Secret); ok {
			r.Changes.Mark(s.Namespace, s.Name, time.Now())
		}
		for _, req := range mapFn(ctx, o) {
			q.AddAfter(req, r.Options.Debounce)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.ObjectNew, q)
		},
	}
}

// workloadsOf maps a Secret to the workloads of this kind it may roll: those whose pod
// template references it, those whose reload list names it, and the targets of its
// ExternalSecrets. Whether they opt in is decided in Reconcile.
func (r *Reconciler) workloadsOf(ctx context.Context, o client.Object) []reconcile.Request {
	s := o.(*corev1.Secret)
	if isTrue(s.Annotations[ReloaderIgnore]) {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	seen := map[string]bool{}
	var out []reconcile.Request
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: s.Namespace, Name: name}})
		}
	}
	for _, q := range []struct {
		index, value string
		filter       func(client.Object) bool
	}{
		{secretRefIndex, s.Name, func(client.Object) bool { return true }},
		{reloadListIndex, "true", func(w client.Object) bool { return matchesReloadList(w.GetAnnotations()[ReloaderSecretReload], s.Name) }},
	} {
		objs, err := r.Kind.find(ctx, r.Client, s.Namespace, q.index, q.value)
		if err != nil {
			log.Error(err, "looking up workloads of a Secret", "secret", s.Name)
			continue
		}
		for _, w := range objs {
			if q.filter(w) {
				add(w.GetName())
			}
		}
	}
	var ess esv1.ExternalSecretList
	if err := r.Client.List(ctx, &ess, client.InNamespace(s.Namespace), client.MatchingFields{targetSecretIndex: s.Name}); err != nil {
		log.Error(err, "looking up ExternalSecrets of a Secret", "secret", s.Name)
	}
	for _, es := range ess.Items {
		for _, t := range parseTargets(es.Annotations[AnnotationRolloutTargets]) {
			if kind, name, _ := strings.Cut(t, "/"); kind == r.Kind.Name {
				add(name)
			}
		}
	}
	return out
}
