// Package externalsecret reconciles ExternalSecrets: it reads the remote values a spec names
// from its store and writes them into one Kubernetes Secret, with ESO's semantics for
// creation, deletion and refresh policies, and reports the outcome in one status write per
// pass.
package externalsecret

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/policycheck"
	"github.com/vigil-dev/vigil/controllers/internal/status"
	"github.com/vigil-dev/vigil/controllers/internal/storeref"
	"github.com/vigil-dev/vigil/controllers/internal/target"
	"github.com/vigil-dev/vigil/internal/safetpl"
	"github.com/vigil-dev/vigil/internal/stores"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=external-secrets.io,resources=externalsecrets/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=external-secrets.io,resources=secretstores;clustersecretstores,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=generators.external-secrets.io,resources=passwords;ecrauthorizationtokens;vaultdynamicsecrets;clustergenerators,verbs=get
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconciler syncs ExternalSecrets.
type Reconciler struct {
	Client client.Client
	// APIReader reads Secrets the cache does not hold: the cache keeps only Secrets that
	// carry the managed label, so a Secret Vigil has not written yet (Merge, adoption) is
	// read from the API server.
	APIReader client.Reader
	Events    events.EventRecorder
	Providers *providers.ClientCache
	// Jitter is the largest fraction of the refresh interval added at random to each
	// periodic requeue, so that ExternalSecrets created together do not all refresh in the
	// same second forever. 0 disables it.
	Jitter float64
	// Clock tells the time of syncs and refreshes; nil is the real clock.
	Clock clock.PassiveClock
	// ControllerClass: ExternalSecrets whose store names another controller class are
	// left to that controller.
	ControllerClass string
	Metrics         *metrics.Recorder
	// Gate checks the ExternalSecret and its store against the policies before any
	// provider call; nil checks nothing.
	Gate *policy.Gate
	// Templates runs target.template within its limits (deadline, output, steps); nil
	// uses NewTemplateEngine(0).
	Templates *safetpl.Engine
	// NoClusterStores: ClusterSecretStores are not reconciled (an installation scoped to
	// one namespace cannot read them), so their changes are not watched.
	NoClusterStores bool
	// ShardCount > 1 labels each managed Secret with its ExternalSecret's shard
	// (sharding.Label), so that only the replicas leading that shard cache it.
	ShardCount int

	// written holds, for each ExternalSecret (types.NamespacedName) this process wrote a
	// status to, the resourceVersion its last write returned: a cached copy of that version
	// is one nothing has changed since, and one without it may lag (trustCache). About 150
	// bytes an ExternalSecret; an entry goes with its ExternalSecret, with its shard
	// (ForgetShard), or when the API server shows a later write.
	written sync.Map
}

// Reconcile runs one pass over an ExternalSecret: decide whether a sync is due, sync it
// (sync), and record the outcome in one status write and the metrics.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := r.clock().Now()
	es, err := r.get(ctx, req)
	if es == nil {
		return ctrl.Result{}, err
	}
	if err := r.keepFinalizer(ctx, es); err != nil {
		return ctrl.Result{}, err
	}
	when, wait, err := r.due(ctx, es) // may replace es with the API server's copy
	before := es.DeepCopy()
	attempted, ignored := false, false
	defer func() {
		err := status.Patch(ctx, r.Client, before, es, statusOf)
		if err == nil && es.ResourceVersion != before.ResourceVersion {
			r.written.Store(req.NamespacedName, es.ResourceVersion)
		}
		retErr = errors.Join(retErr, err)
		if !ignored {
			r.recordMetrics(es, attempted, r.clock().Since(start))
		}
	}()
	if err != nil || when == notDue {
		return ctrl.Result{RequeueAfter: wait, Priority: ptr.To(handler.LowPriority)}, err
	}
	attempted = true
	if ignored, err = r.sync(ctx, es, when); err != nil {
		return r.failed(es, err)
	}
	if ignored {
		return ctrl.Result{}, nil
	}
	// Periodic refreshes queue behind new and changed ExternalSecrets (the priority lane):
	// events from the API server come in at the default priority.
	return ctrl.Result{RequeueAfter: r.nextRefresh(es), Priority: ptr.To(handler.LowPriority)}, nil
}

// get reads the ExternalSecret of a request; nil when it is gone or being deleted (its
// metrics are dropped then).
func (r *Reconciler) get(ctx context.Context, req ctrl.Request) (*esv1.ExternalSecret, error) {
	es := &esv1.ExternalSecret{}
	if err := r.Client.Get(ctx, req.NamespacedName, es); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.ForgetExternalSecret(req.Namespace, req.Name)
			r.written.Delete(req.NamespacedName)
		}
		return nil, client.IgnoreNotFound(err)
	}
	if !es.DeletionTimestamp.IsZero() {
		// An owned Secret goes with its owner through garbage collection, unless deletion
		// protection keeps it (protection.go); others stay.
		r.Metrics.ForgetExternalSecret(req.Namespace, req.Name)
		return nil, r.finishDeletion(ctx, es)
	}
	return es, nil
}

// sync resolves the store and checks the policies, then reads, renders and writes. It
// reports ignored for an ExternalSecret whose store belongs to another controller class:
// that controller reports it, in status and metrics.
func (r *Reconciler) sync(ctx context.Context, es *esv1.ExternalSecret, when dueKind) (ignored bool, err error) {
	if err := unimplemented(&es.Spec); err != nil {
		return false, err
	}
	if err := conflicts(&es.Spec); err != nil {
		return false, err
	}
	ctx = providers.WithReadPolicy(ctx, r.readPolicy(es, when))
	// The audit trail: backends that record a header per request name the ExternalSecret.
	ctx = providers.WithRequester(ctx, es.Namespace, es.Name)
	// The sync reads each store once: the resolution below, the policy input's store and
	// entries, and the fetch see the same object. Not earlier in the pass: a store deleted
	// or narrowed since the pass began is seen here, as before (storeEvents).
	ctx = stores.WithMemo(ctx)
	store, err := r.resolveStore(ctx, es)
	if err != nil {
		return false, err
	}
	if store != nil && !storeref.Handles(r.ControllerClass, store) {
		return true, nil
	}
	if err := policycheck.ExternalSecret(ctx, r.Gate, es, store); err != nil {
		return false, err
	}
	return false, r.syncData(ctx, es, store)
}

// syncData fetches the remote data, renders the template and writes the Secret. What
// generators issue in this pass (a Vault lease, a database user) is given back unless the
// Secret is written: a failing write does not pile up credentials per retry.
func (r *Reconciler) syncData(ctx context.Context, es *esv1.ExternalSecret, store esv1.GenericStore) error {
	ctx, generated := providers.WithGenerated(ctx)
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		generated.Discard(dctx)
	}()
	data, missing, err := r.fetchData(ctx, es, store)
	if err != nil {
		return err
	}
	out, err := r.renderTemplate(ctx, es, data)
	if err != nil {
		return err
	}
	deleted, err := r.writeSecret(ctx, es, out, missing)
	if err != nil {
		return err
	}
	generated.Keep()
	r.markSynced(es, deleted)
	return nil
}

// failed records a failed pass in the Ready condition and an event; the Secret is left as
// it was.
func (r *Reconciler) failed(es *esv1.ExternalSecret, err error) (ctrl.Result, error) {
	reason := outcome.Reason(err, esv1.ReasonSecretSyncedError)
	msg := oneLine(err.Error())
	status.SetReady(&es.Status.Conditions, es.Generation, metav1.ConditionFalse, reason, msg)
	r.Events.Eventf(es, nil, corev1.EventTypeWarning, "UpdateFailed", "Sync", "%s", msg)
	return outcome.Result(err)
}

// markSynced records a successful pass.
func (r *Reconciler) markSynced(es *esv1.ExternalSecret, deleted bool) {
	es.Status.RefreshTime = metav1.NewTime(r.clock().Now())
	es.Status.SyncedResourceVersion = syncVersion(es)
	if deleted {
		status.SetReady(&es.Status.Conditions, es.Generation, metav1.ConditionFalse, esv1.ReasonSecretDeleted,
			"the remote data is gone, so the Secret was deleted (target.deletionPolicy: Delete)")
		return
	}
	if es.Spec.Target.CreationPolicy != esv1.CreatePolicyNone {
		es.Status.Binding = corev1.LocalObjectReference{Name: target.Name(es)}
	}
	status.SetReady(&es.Status.Conditions, es.Generation, metav1.ConditionTrue, esv1.ReasonSecretSynced,
		"Secret was synced")
}

// recordMetrics derives the metrics of the ExternalSecret from the status this pass wrote.
func (r *Reconciler) recordMetrics(es *esv1.ExternalSecret, attempted bool, took time.Duration) {
	if attempted {
		ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
		failed := ready == nil || (ready.Status != metav1.ConditionTrue && ready.Reason != esv1.ReasonSecretDeleted)
		r.Metrics.SyncAttempted(es.Namespace, es.Name, failed)
	}
	r.Metrics.ExternalSecret(es, refreshInterval(es), took)
	r.Metrics.Reconciled("externalsecret", took)
}

// clock returns the reconciler's clock.
func (r *Reconciler) clock() clock.PassiveClock {
	if r.Clock == nil {
		return clock.RealClock{}
	}
	return r.Clock
}

func statusOf(es *esv1.ExternalSecret) esv1.ExternalSecretStatus { return es.Status }
