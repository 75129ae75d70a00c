// Package clusterexternalsecret reconciles ClusterExternalSecrets: one ExternalSecret per
// selected namespace, created and removed as namespaces come, go and change labels, with
// the result in status.provisionedNamespaces and status.failedNamespaces.
package clusterexternalsecret

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/status"
	"github.com/vigil-dev/vigil/controllers/sharding"
)

// +kubebuilder:rbac:groups=external-secrets.io,resources=clusterexternalsecrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=external-secrets.io,resources=clusterexternalsecrets/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets,verbs=get;list;watch;create;update;patch;delete

// LabelOwner marks the ExternalSecrets a ClusterExternalSecret created (ESO's label).
const LabelOwner = "external-secrets.io/cluster-external-secret-name"

// Reconciler provisions ClusterExternalSecrets.
type Reconciler struct {
	Client client.Client
}

// Reconcile selects namespaces, writes the child ExternalSecrets, removes those of
// namespaces no longer selected, and records the outcome.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	ces := &esv1.ClusterExternalSecret{}
	if err := r.Client.Get(ctx, req.NamespacedName, ces); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err) // children go with it (owner references)
	}
	if !ces.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := ces.DeepCopy()
	defer func() { retErr = errors.Join(retErr, status.Patch(ctx, r.Client, before, ces, statusOf)) }()

	selected, err := r.selectedNamespaces(ctx, ces)
	if err != nil {
		return ctrl.Result{}, err
	}
	name := childName(ces)
	var provisioned []string
	var failed []esv1.ClusterExternalSecretNamespaceFailure
	for _, ns := range selected {
		if err := r.writeChild(ctx, ces, ns, name); err != nil {
			failed = append(failed, esv1.ClusterExternalSecretNamespaceFailure{Namespace: ns, Reason: err.Error()})
			continue
		}
		provisioned = append(provisioned, ns)
	}
	if err := r.removeUnselected(ctx, ces, selected); err != nil {
		return ctrl.Result{}, err
	}
	ces.Status.ExternalSecretName = name
	ces.Status.ProvisionedNamespaces = provisioned
	ces.Status.FailedNamespaces = failed
	if len(failed) > 0 {
		status.SetReady(&ces.Status.Conditions, ces.Generation, metav1.ConditionFalse, reasonPartiallyProvisioned,
			fmt.Sprintf("ExternalSecret %s failed in %d of %d namespaces (see status.failedNamespaces)",
				name, len(failed), len(selected)))
	} else {
		status.SetReady(&ces.Status.Conditions, ces.Generation, metav1.ConditionTrue, reasonProvisioned,
			fmt.Sprintf("ExternalSecret %s provisioned in %d namespaces", name, len(provisioned)))
	}
	return ctrl.Result{RequeueAfter: refresh(ces)}, nil
}

// Reasons of a ClusterExternalSecret's Ready condition.
const (
	reasonProvisioned          = "Provisioned"
	reasonPartiallyProvisioned = "PartiallyProvisioned"
)

func statusOf(ces *esv1.ClusterExternalSecret) esv1.ClusterExternalSecretStatus { return ces.Status }

func childName(ces *esv1.ClusterExternalSecret) string {
	if ces.Spec.ExternalSecretName != "" {
		return ces.Spec.ExternalSecretName
	}
	return ces.Name
}

func refresh(ces *esv1.ClusterExternalSecret) time.Duration {
	if ces.Spec.RefreshInterval == nil {
		return time.Minute
	}
	return ces.Spec.RefreshInterval.Duration
}

// selectedNamespaces lists the live namespaces any selector or the name list selects.
func (r *Reconciler) selectedNamespaces(ctx context.Context, ces *esv1.ClusterExternalSecret) ([]string, error) {
	var list corev1.NamespaceList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil, err
	}
	var sels []labels.Selector
	for i, s := range ces.Spec.NamespaceSelectors {
		sel, err := metav1.LabelSelectorAsSelector(s)
		if err != nil {
			// Retrying cannot fix a selector: the next spec change brings the object back.
			return nil, reconcile.TerminalError(fmt.Errorf("spec.namespaceSelectors[%d]: %w", i, err))
		}
		sels = append(sels, sel)
	}
	if s := ces.Spec.NamespaceSelector; s != nil { // ESO's deprecated single selector
		sel, err := metav1.LabelSelectorAsSelector(s)
		if err != nil {
			return nil, reconcile.TerminalError(fmt.Errorf("spec.namespaceSelector: %w", err))
		}
		sels = append(sels, sel)
	}
	var out []string
	for _, ns := range list.Items {
		if !ns.DeletionTimestamp.IsZero() {
			continue
		}
		matches := func(s labels.Selector) bool { return s.Matches(labels.Set(ns.Labels)) }
		if slices.Contains(ces.Spec.Namespaces, ns.Name) || slices.ContainsFunc(sels, matches) {
			out = append(out, ns.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// writeChild creates or updates the ExternalSecret in one namespace; it refuses to take over
// one it did not create.
func (r *Reconciler) writeChild(ctx context.Context, ces *esv1.ClusterExternalSecret, ns, name string) error {
	es := &esv1.ExternalSecret{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, es)
	switch {
	case apierrors.IsNotFound(err):
		es = &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	case err != nil:
		return err
	case !metav1.IsControlledBy(es, ces):
		return fmt.Errorf("ExternalSecret %s/%s already exists and is not managed by this ClusterExternalSecret", ns, name)
	}
	desired := es.DeepCopy()
	desired.Labels = map[string]string{}
	maps.Copy(desired.Labels, ces.Spec.ExternalSecretMetadata.Labels)
	desired.Labels[LabelOwner] = ces.Name
	if v, ok := es.Labels[sharding.Label]; ok {
		desired.Labels[sharding.Label] = v // the shard's labeller writes it, and corrects it
	}
	desired.Annotations = map[string]string{}
	maps.Copy(desired.Annotations, ces.Spec.ExternalSecretMetadata.Annotations)
	if es.Annotations != nil {
		if v, ok := es.Annotations[esv1.AnnotationForceSync]; ok {
			desired.Annotations[esv1.AnnotationForceSync] = v // a user's force-sync survives
		}
	}
	desired.Spec = ces.Spec.ExternalSecretSpec
	if err := controllerutil.SetControllerReference(ces, desired, r.Client.Scheme()); err != nil {
		return err
	}
	if es.ResourceVersion == "" {
		return r.Client.Create(ctx, desired)
	}
	if equality.Semantic.DeepEqual(es.Spec, desired.Spec) && maps.Equal(es.Labels, desired.Labels) &&
		maps.Equal(es.Annotations, desired.Annotations) {
		return nil
	}
	return r.Client.Update(ctx, desired)
}

// removeUnselected deletes the children in namespaces that are no longer selected.
func (r *Reconciler) removeUnselected(ctx context.Context, ces *esv1.ClusterExternalSecret, selected []string) error {
	var list esv1.ExternalSecretList
	if err := r.Client.List(ctx, &list, client.MatchingLabels{LabelOwner: ces.Name}); err != nil {
		return err
	}
	var errs []error
	for i := range list.Items {
		es := &list.Items[i]
		if slices.Contains(selected, es.Namespace) || !metav1.IsControlledBy(es, ces) {
			continue
		}
		errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, es)))
	}
	return errors.Join(errs...)
}

// SetupWithManager registers the reconciler; namespace changes requeue every
// ClusterExternalSecret (there are few).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("clusterexternalsecret").
		For(&esv1.ClusterExternalSecret{}).
		Owns(&esv1.ExternalSecret{}).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.all)).
		WithOptions(opts).
		Complete(r)
}

// all requests every ClusterExternalSecret.
func (r *Reconciler) all(ctx context.Context, _ client.Object) []reconcile.Request {
	var list esv1.ClusterExternalSecretList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, c := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
	}
	return reqs
}
