package pushsecret

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/storeref"
)

// storeRefIndex indexes PushSecrets by the stores they push to: "Kind/name" for a store
// named, "Kind/*" for a label selector (any store of the kind may match it).
const storeRefIndex = "vigil.dev/push-store-ref"

// storeRefKeys lists the index keys of a PushSecret.
func storeRefKeys(o client.Object) []string {
	ps := o.(*esv1alpha1.PushSecret)
	var keys []string
	for _, ref := range ps.Spec.SecretStoreRefs {
		kind := ref.Kind
		if kind == "" {
			kind = esv1.SecretStoreKind
		}
		name := ref.Name
		if ref.LabelSelector != nil {
			name = "*"
		}
		keys = append(keys, kind+"/"+name)
	}
	return keys
}

// SetupWithManager registers the reconciler and its watches: PushSecrets (their spec,
// labels, annotations and deletion, not their status) and the stores they push to (a store
// that appears or becomes ready requeues its PushSecrets). Source Secrets are not watched,
// as in ESO: refreshInterval pushes their changes.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts controller.Options) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &esv1alpha1.PushSecret{}, storeRefIndex, storeRefKeys); err != nil {
		return err
	}
	changed := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{},
		predicate.AnnotationChangedPredicate{})
	storeChanged := builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, storeref.ReadyChanged))
	b := ctrl.NewControllerManagedBy(mgr).
		Named("pushsecret").
		For(&esv1alpha1.PushSecret{}, builder.WithPredicates(changed)).
		Watches(&esv1.SecretStore{}, handler.EnqueueRequestsFromMapFunc(r.usersOf), storeChanged)
	if !r.NoClusterStores {
		b = b.Watches(&esv1.ClusterSecretStore{}, handler.EnqueueRequestsFromMapFunc(r.usersOf), storeChanged)
	}
	return b.WithOptions(opts).Complete(r)
}

// usersOf lists the PushSecrets that push to a store, by name or by a label selector.
func (r *Reconciler) usersOf(ctx context.Context, o client.Object) []reconcile.Request {
	store := o.(esv1.GenericStore)
	var reqs []reconcile.Request
	for _, key := range []string{store.GetKind() + "/" + store.GetName(), store.GetKind() + "/*"} {
		var list esv1alpha1.PushSecretList
		opts := []client.ListOption{client.MatchingFields{storeRefIndex: key}}
		if store.GetKind() == esv1.SecretStoreKind {
			opts = append(opts, client.InNamespace(store.GetNamespace()))
		}
		if err := r.Client.List(ctx, &list, opts...); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing PushSecrets of a store", "store", store.GetName())
			continue
		}
		for i := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}
