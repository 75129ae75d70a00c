// Package secretstore reconciles SecretStores and ClusterSecretStores: it checks the
// provider configuration and that the backend can be used, and reports the result in the
// Ready condition (reasons Valid, InvalidProviderConfig, ValidationFailed). One reconciler
// type serves both kinds through esv1.GenericStore.
package secretstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// +kubebuilder:rbac:groups=external-secrets.io,resources=secretstores;clustersecretstores,verbs=get;list;watch
// +kubebuilder:rbac:groups=external-secrets.io,resources=secretstores/status;clustersecretstores/status,verbs=get;patch;update

// Reconciler validates stores of one kind.
type Reconciler struct {
	Client    client.Client
	Events    events.EventRecorder
	Providers *providers.ClientCache
	// NewStore returns an empty object of the kind this reconciler serves.
	NewStore func() esv1.GenericStore
	// ControllerClass: stores whose spec.controller names another class are left to the
	// controller of that class (ESO's --controller-class).
	ControllerClass string
	Metrics         *metrics.Recorder
	// Gate checks the store against the policies before its credentials are used; nil
	// checks nothing.
	Gate *policy.Gate
}

// policyRecheck is how soon a store or ExternalSecret blocked by policy is checked again
// (IAM policies change outside the cluster).
const policyRecheck = time.Minute

// Reconcile validates one store.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	start := time.Now()
	store := r.NewStore()
	if err := r.Client.Get(ctx, req.NamespacedName, store); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.ForgetStore(store.GetKind(), req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !Handles(r.ControllerClass, store) {
		return ctrl.Result{}, nil
	}
	before := store.DeepCopyObject().(esv1.GenericStore)
	defer func() {
		retErr = errors.Join(retErr, r.patchStatus(ctx, before, store))
		r.Metrics.Store(store)
		r.Metrics.Reconciled(strings.ToLower(store.GetKind()), time.Since(start))
	}()

	msg, err := r.validate(ctx, store)
	if err != nil {
		reason := outcome.Reason(err, esv1.ReasonValidationFailed)
		r.setReady(store, metav1.ConditionFalse, reason, err.Error())
		r.Events.Eventf(store, nil, corev1.EventTypeWarning, reason, "Validate", "%s", err.Error())
		return outcome.Result(err)
	}
	r.setReady(store, metav1.ConditionTrue, esv1.ReasonStoreValid, msg)
	store.GetStatus().Capabilities = esv1.SecretStoreReadOnly
	return ctrl.Result{RequeueAfter: time.Duration(store.GetSpec().RefreshInterval) * time.Second}, nil
}

// validate checks the configuration (terminal when wrong), then builds a client and lets it
// check the backend (retried when it fails). It returns the Ready message.
func (r *Reconciler) validate(ctx context.Context, store esv1.GenericStore) (string, error) {
	if err := CheckPolicy(ctx, r.Gate, store); err != nil {
		return "", err
	}
	p, err := r.Providers.Registry().ForStore(store)
	if err != nil {
		return "", outcome.Terminal(esv1.ReasonInvalidProviderConfig, err)
	}
	if err := p.ValidateStore(store); err != nil {
		return "", outcome.Terminal(esv1.ReasonInvalidProviderConfig, err)
	}
	cl, err := r.Providers.Get(ctx, store, store.GetNamespace())
	var cfgErr *providers.ConfigError
	switch {
	case errors.Is(err, providers.ErrNamespaceUnknown):
		return "store configuration is valid; credentials are resolved in the namespace of each ExternalSecret", nil
	case errors.As(err, &cfgErr):
		return "", outcome.Terminal(esv1.ReasonInvalidProviderConfig, err)
	case err != nil:
		return "", outcome.Transient(esv1.ReasonValidationFailed, fmt.Errorf("building a %s client: %w", p.Name(), err))
	}
	if err := cl.Validate(ctx); err != nil {
		return "", outcome.Transient(esv1.ReasonValidationFailed, fmt.Errorf("%s store could not be used: %w", p.Name(), err))
	}
	return "store validated", nil
}

// CheckPolicy returns a Waiting PolicyViolation error when a Deny policy blocks the store,
// so that no credential of it is used.
func CheckPolicy(ctx context.Context, gate *policy.Gate, store esv1.GenericStore) error {
	if gate == nil {
		return nil
	}
	vs, err := gate.Store(ctx, store)
	if err != nil {
		return outcome.Transient(esv1.ReasonValidationFailed, fmt.Errorf("evaluating policies: %w", err))
	}
	return denied(vs)
}

// denied turns Deny violations into the error that blocks an object.
func denied(vs []policy.Violation) error {
	if d := policy.Denied(vs); len(d) > 0 {
		return outcome.Waiting(esv1.ReasonPolicyViolation, fmt.Errorf("blocked by policy: %s", policy.Summary(d)), policyRecheck)
	}
	return nil
}

// CheckExternalSecretPolicy is CheckPolicy for an ExternalSecret and its store.
func CheckExternalSecretPolicy(ctx context.Context, gate *policy.Gate, es *esv1.ExternalSecret, store esv1.GenericStore) error {
	if gate == nil {
		return nil
	}
	vs, err := gate.ExternalSecret(ctx, es, store)
	if err != nil {
		return outcome.Transient(esv1.ReasonSecretSyncedError, fmt.Errorf("evaluating policies: %w", err))
	}
	return denied(vs)
}

// Handles reports whether the controller of a class handles a store: a store with no
// spec.controller is handled by every controller, others only by their own class.
func Handles(class string, store esv1.GenericStore) bool {
	c := store.GetSpec().Controller
	return c == "" || c == class
}

func (r *Reconciler) setReady(store esv1.GenericStore, status metav1.ConditionStatus, reason, message string) {
	apimeta.SetStatusCondition(&store.GetStatus().Conditions, metav1.Condition{
		Type:               esv1.ConditionReady,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: store.GetGeneration(),
	})
}

func (r *Reconciler) patchStatus(ctx context.Context, before, store esv1.GenericStore) error {
	if equality.Semantic.DeepEqual(before.GetStatus(), store.GetStatus()) {
		return nil
	}
	return client.IgnoreNotFound(r.Client.Status().Patch(ctx, store, client.MergeFrom(before)))
}

// SetupWithManager registers the reconciler for its kind.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	store := r.NewStore()
	return ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(store.GetKind())).
		For(store).
		WithOptions(opts).
		Complete(r)
}
