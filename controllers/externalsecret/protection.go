package externalsecret

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/storeref"
	"github.com/vigil-dev/vigil/controllers/internal/target"
	"github.com/vigil-dev/vigil/policy"
)

// Deletion protection at reconcile time: the webhook refuses to delete a protected
// ExternalSecret, and this finalizer keeps its Secret when one goes anyway (the webhook
// was down with failurePolicy Ignore, or not installed): the Secret's owner reference is
// removed before the ExternalSecret is, so the garbage collector leaves it.

// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets,verbs=patch;update
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets/finalizers,verbs=update

// protection decides whether an ExternalSecret is protected now: its annotation, its
// namespace's, and the policies' defaults. A namespace that is gone or being deleted
// protects nothing: namespace deletion stays destructive.
func (r *Reconciler) protection(ctx context.Context, es *esv1.ExternalSecret) (policy.Protection, error) {
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, types.NamespacedName{Name: es.Namespace}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return policy.Protection{}, nil
		}
		return policy.Protection{}, err
	}
	if !ns.DeletionTimestamp.IsZero() {
		return policy.Protection{}, nil
	}
	var set *policy.Set
	if r.Gate != nil {
		var err error
		if set, err = r.Gate.Policies.Load(ctx, r.Gate.Builder.Client); err != nil {
			return policy.Protection{}, err
		}
	}
	return set.DeletionProtection(es, ns), nil
}

// otherClass reports whether the ExternalSecret's store names another controller class:
// that controller owns its Secret, so this one neither protects nor orphans it. A store
// that cannot be read (missing, refusing) counts as this class's, as before the check.
func (r *Reconciler) otherClass(ctx context.Context, es *esv1.ExternalSecret) bool {
	store, err := r.resolveStore(ctx, es)
	return err == nil && store != nil && !storeref.Handles(r.ControllerClass, store)
}

// keepFinalizer puts the protection finalizer on a protected ExternalSecret and takes it
// off one that is no longer protected, so that an unprotected one is deleted as before.
// An ExternalSecret of another controller class never keeps it.
func (r *Reconciler) keepFinalizer(ctx context.Context, es *esv1.ExternalSecret) error {
	want := false
	if !r.otherClass(ctx, es) {
		p, err := r.protection(ctx, es)
		if err != nil {
			return err
		}
		want = p.Protected()
	}
	has := controllerutil.ContainsFinalizer(es, policy.FinalizerDeletionProtection)
	if want == has {
		return nil
	}
	before := es.DeepCopy()
	if has {
		controllerutil.RemoveFinalizer(es, policy.FinalizerDeletionProtection)
	} else {
		controllerutil.AddFinalizer(es, policy.FinalizerDeletionProtection)
	}
	return r.Client.Patch(ctx, es, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
}

// finishDeletion runs when an ExternalSecret that carries the finalizer is being deleted:
// if it is still protected (and of this class), its Secret is orphaned first; then the
// finalizer goes.
func (r *Reconciler) finishDeletion(ctx context.Context, es *esv1.ExternalSecret) error {
	if !controllerutil.ContainsFinalizer(es, policy.FinalizerDeletionProtection) {
		return nil
	}
	p, err := r.protection(ctx, es)
	if err != nil {
		return err
	}
	if p.Protected() && !r.otherClass(ctx, es) {
		if err := r.orphanSecret(ctx, es); err != nil {
			return err
		}
	}
	before := es.DeepCopy()
	controllerutil.RemoveFinalizer(es, policy.FinalizerDeletionProtection)
	return client.IgnoreNotFound(r.Client.Patch(ctx, es, client.MergeFromWithOptions(before,
		client.MergeFromWithOptimisticLock{})))
}

// orphanSecret removes the ExternalSecret's owner reference from its Secret and labels it.
// Only a Secret this ExternalSecret owns (an owner reference with its UID) is touched.
func (r *Reconciler) orphanSecret(ctx context.Context, es *esv1.ExternalSecret) error {
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: es.Namespace, Name: target.Name(es)}, secret)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	owned := func(ref metav1.OwnerReference) bool { return ref.UID == es.UID }
	if !slices.ContainsFunc(secret.OwnerReferences, owned) {
		return nil
	}
	secret.OwnerReferences = slices.DeleteFunc(secret.OwnerReferences, owned)
	if secret.Labels == nil {
		secret.Labels = map[string]string{}
	}
	secret.Labels[policy.LabelOrphanedByProtection] = "true"
	// Update, not patch: the resourceVersion makes it fail rather than overwrite a change
	// made since the read.
	if err := r.Client.Update(ctx, secret); err != nil {
		return err
	}
	r.Events.Eventf(es, secret, corev1.EventTypeNormal, "SecretOrphaned", "DeletionProtection",
		"Deletion protection kept Secret %s: its owner reference to this ExternalSecret is removed and it is labelled %s",
		secret.Name, policy.LabelOrphanedByProtection)
	return nil
}

// protectionAnnotationChanged passes namespace updates that change the protection
// annotation (or start the namespace's deletion): their ExternalSecrets' finalizers follow.
var protectionAnnotationChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		key := policy.AnnotationDeletionProtection
		return e.ObjectOld.GetAnnotations()[key] != e.ObjectNew.GetAnnotations()[key]
	},
}

// inNamespace lists the ExternalSecrets of a namespace.
func (r *Reconciler) inNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	var list esv1.ExternalSecretList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns.GetName())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the ExternalSecrets of a namespace", "namespace", ns.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, es := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&es)})
	}
	return reqs
}
