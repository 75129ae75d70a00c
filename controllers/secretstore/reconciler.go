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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/policycheck"
	"github.com/vigil-dev/vigil/controllers/internal/status"
	"github.com/vigil-dev/vigil/controllers/internal/storeref"
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
	if !storeref.Handles(r.ControllerClass, store) {
		return ctrl.Result{}, nil
	}
	before := store.DeepCopyObject().(esv1.GenericStore)
	defer func() {
		retErr = errors.Join(retErr, status.Patch(ctx, r.Client, before, store, esv1.GenericStore.GetStatus))
		r.Metrics.Store(store)
		r.Metrics.Reconciled(strings.ToLower(store.GetKind()), time.Since(start))
	}()

	msg, err := r.validate(ctx, store)
	if err != nil {
		reason := outcome.Reason(err, esv1.ReasonValidationFailed)
		status.SetReady(&store.GetStatus().Conditions, store.GetGeneration(), metav1.ConditionFalse, reason, err.Error())
		r.Events.Eventf(store, nil, corev1.EventTypeWarning, reason, "Validate", "%s", err.Error())
		return outcome.Result(err)
	}
	status.SetReady(&store.GetStatus().Conditions, store.GetGeneration(), metav1.ConditionTrue, esv1.ReasonStoreValid, msg)
	store.GetStatus().Capabilities = esv1.SecretStoreReadOnly
	return ctrl.Result{RequeueAfter: refreshInterval(store.GetSpec().RefreshInterval)}, nil
}

// refreshInterval reads spec.refreshInterval, seconds or a duration (ESO accepts both); an
// unset, negative or unparsable value re-validates only on change.
func refreshInterval(v *intstr.IntOrString) time.Duration {
	if v == nil {
		return 0
	}
	if v.Type == intstr.Int {
		return max(time.Duration(v.IntVal)*time.Second, 0)
	}
	d, err := time.ParseDuration(v.StrVal)
	if err != nil {
		return 0
	}
	return max(d, 0)
}

// validate checks the configuration (terminal when wrong), then builds a client and lets it
// check the backend (retried when it fails). It returns the Ready message.
func (r *Reconciler) validate(ctx context.Context, store esv1.GenericStore) (string, error) {
	if err := policycheck.Store(ctx, r.Gate, store); err != nil {
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

// SetupWithManager registers the reconciler for its kind.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	store := r.NewStore()
	return ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(store.GetKind())).
		For(store).
		WithOptions(opts).
		Complete(r)
}
