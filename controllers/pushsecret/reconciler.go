// Package pushsecret reconciles PushSecrets with ESO's semantics: it reads one Secret of the
// PushSecret's own namespace (or runs a generator), applies the template, and writes the
// values spec.data selects to every store spec.secretStoreRefs names, through the stores'
// providers.Pusher. It records what it wrote in status.syncedPushSecrets, so that
// deletionPolicy Delete can remove what is no longer in the spec, and everything on the
// PushSecret's deletion (the finalizer). One status write per pass.
package pushsecret

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/policycheck"
	"github.com/vigil-dev/vigil/controllers/internal/status"
	"github.com/vigil-dev/vigil/internal/safetpl"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// +kubebuilder:rbac:groups=external-secrets.io,resources=pushsecrets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=external-secrets.io,resources=pushsecrets/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=external-secrets.io,resources=pushsecrets/finalizers,verbs=update

// Finalizer is ESO's: it holds a PushSecret with deletionPolicy Delete until what it pushed
// is deleted from the stores.
const Finalizer = "pushsecret.externalsecrets.io/finalizer"

// Reconciler pushes PushSecrets.
type Reconciler struct {
	Client client.Client
	// APIReader reads the source Secret and templateFrom objects: the manager's cache holds
	// only the Secrets Vigil manages, and a PushSecret's source is any Secret of its namespace.
	APIReader client.Reader
	Events    events.EventRecorder
	Providers *providers.ClientCache
	// Clock tells the time of pushes and refreshes; nil is the real clock.
	Clock clock.PassiveClock
	// ControllerClass: PushSecrets are not pushed to stores of another controller class.
	ControllerClass string
	Metrics         *metrics.Recorder
	// Gate checks the PushSecret and its stores against the policies before any credential
	// is used (policycheck.PushSecret), and the generator before it runs; nil checks nothing.
	Gate *policy.Gate
	// Templates runs spec.template within its limits; nil uses the default engine.
	Templates *safetpl.Engine
	// NoClusterStores: ClusterSecretStores cannot be read (an installation scoped to one
	// namespace) and are refused by name.
	NoClusterStores bool
	// Limits bound what one PushSecret may cost; zero fields take the defaults.
	Limits Limits
}

// Reconcile runs one pass over a PushSecret: deletion and the finalizer, then, when a push is
// due, the push (push) and its record in one status write.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := r.clock().Now()
	defer func() { r.Metrics.Reconciled("pushsecret", r.clock().Since(start)) }()
	ps := &esv1alpha1.PushSecret{}
	if err := r.Client.Get(ctx, req.NamespacedName, ps); err != nil {
		if isGone(err) {
			r.Metrics.ForgetPushSecret(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := ps.DeepCopy()
	defer func() {
		retErr = errors.Join(retErr, status.Patch(ctx, r.Client, before, ps, statusOf))
		r.recordMetrics(ps, r.clock().Since(start))
	}()
	if !ps.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, ps)
	}
	if err := r.keepFinalizer(ctx, ps); err != nil {
		return ctrl.Result{}, err
	}
	if wait, due := r.due(ps); !due {
		return ctrl.Result{RequeueAfter: wait, Priority: ptr.To(handler.LowPriority)}, nil
	}
	synced, err := r.push(ctx, ps)
	if err != nil {
		return r.failed(ps, synced, err)
	}
	r.markSynced(ps, synced)
	if wait := refreshInterval(ps); wait > 0 {
		return ctrl.Result{RequeueAfter: wait, Priority: ptr.To(handler.LowPriority)}, nil
	}
	return ctrl.Result{}, nil
}

// recordMetrics derives the PushSecret's metrics from the status this pass wrote (one
// place, after the status write). A PushSecret that is let go has its series removed; one
// held by the finalizer because a store cannot delete keeps them, so that a deletion stuck
// on a broken store still shows as not synced (and alerts).
func (r *Reconciler) recordMetrics(ps *esv1alpha1.PushSecret, took time.Duration) {
	if !ps.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(ps, Finalizer) {
		r.Metrics.ForgetPushSecret(ps.Namespace, ps.Name)
		return
	}
	r.Metrics.PushSecret(ps, took)
}

// push is one push pass: resolve the source and the stores, write every entry to every
// store, then (deletionPolicy Delete) delete what the spec no longer names. It returns what
// is pushed, also when it fails part way, so that the status keeps track of it.
func (r *Reconciler) push(ctx context.Context, ps *esv1alpha1.PushSecret) (esv1alpha1.SyncedPushSecretsMap, error) {
	if err := r.checkSpec(ps); err != nil {
		return nil, err
	}
	stores, err := r.resolveStores(ctx, ps)
	if err != nil {
		return nil, err
	}
	// The guardrails (remote keys inside the namespace's prefixes, the stores' own rules)
	// before any credential is used or anything read or written.
	if err := policycheck.PushSecret(ctx, r.Gate, ps, stores); err != nil {
		return nil, err
	}
	ctx, generated := providers.WithGenerated(ctx)
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		generated.Discard(dctx)
	}()
	src, err := r.source(ctx, ps)
	if err != nil {
		return nil, err
	}
	synced, err := r.pushToStores(ctx, ps, stores, src)
	if len(synced) > 0 {
		// Pushed somewhere: what a generator issued is in use now.
		generated.Keep()
	}
	if err != nil {
		return synced, src.redact(err)
	}
	if ps.Spec.DeletionPolicy == esv1alpha1.PushSecretDeletionPolicyDelete {
		if err := r.deleteRemoved(ctx, ps, synced); err != nil {
			return merge(synced, ps.Status.SyncedPushSecrets), src.redact(err)
		}
	}
	return synced, nil
}

// failed records a failed pass: the Ready condition (reason Errored), a Warning event, and
// what was pushed so far added to what the status held (its deletion is still owed).
func (r *Reconciler) failed(
	ps *esv1alpha1.PushSecret, synced esv1alpha1.SyncedPushSecretsMap, err error,
) (ctrl.Result, error) {
	msg := oneLine(err.Error())
	reason := outcome.Reason(err, esv1alpha1.ReasonErrored)
	setReady(ps, corev1.ConditionFalse, reason, msg, r.clock().Now())
	if synced != nil {
		ps.Status.SyncedPushSecrets = merge(synced, ps.Status.SyncedPushSecrets)
	}
	r.Events.Eventf(ps, nil, corev1.EventTypeWarning, esv1alpha1.ReasonErrored, "Push", "%s", msg)
	return outcome.Result(err)
}

// markSynced records a successful pass, with ESO's message.
func (r *Reconciler) markSynced(ps *esv1alpha1.PushSecret, synced esv1alpha1.SyncedPushSecretsMap) {
	msg := "PushSecret synced successfully"
	if ps.Spec.UpdatePolicy == esv1alpha1.PushSecretUpdatePolicyIfNotExists {
		msg += ". Existing secrets in providers unchanged."
	}
	now := r.clock().Now()
	setReady(ps, corev1.ConditionTrue, esv1alpha1.ReasonSynced, msg, now)
	ps.Status.SyncedPushSecrets = synced
	ps.Status.RefreshTime = metav1.NewTime(now)
	ps.Status.SyncedResourceVersion = syncVersion(ps)
	r.Events.Eventf(ps, nil, corev1.EventTypeNormal, esv1alpha1.ReasonSynced, "Push", "%s", msg)
}

// setReady sets the Ready condition (ESO's PushSecretStatusCondition, not metav1.Condition):
// the transition time changes only when the status does.
func setReady(ps *esv1alpha1.PushSecret, s corev1.ConditionStatus, reason, msg string, now time.Time) {
	c := esv1alpha1.PushSecretStatusCondition{
		Type: esv1alpha1.PushSecretReady, Status: s, Reason: reason, Message: msg,
		LastTransitionTime: metav1.NewTime(now),
	}
	out := make([]esv1alpha1.PushSecretStatusCondition, 0, len(ps.Status.Conditions)+1)
	for _, old := range ps.Status.Conditions {
		if old.Type != c.Type {
			out = append(out, old)
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
	ps.Status.Conditions = append(out, c)
}

// clock returns the reconciler's clock.
func (r *Reconciler) clock() clock.PassiveClock {
	if r.Clock == nil {
		return clock.RealClock{}
	}
	return r.Clock
}

func statusOf(ps *esv1alpha1.PushSecret) esv1alpha1.PushSecretStatus { return ps.Status }

// isGone reports an API error that says the object no longer exists.
func isGone(err error) bool { return apierrors.IsNotFound(err) }
