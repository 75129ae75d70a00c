// Package metrics defines every metric Vigil exports and the helpers that record them.
//
// State metrics (conditions, last success, refresh interval) are derived from an object's
// status in one place, Recorder.ExternalSecret / Recorder.Store, called once at the end of
// each reconcile pass; Forget* removes an object's series when it is deleted. ESO's metric
// names and labels are kept so that existing dashboards work; Vigil's own use the vigil_
// prefix. No label ever carries a secret key or value.
package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// Metric names. ESO's first, then Vigil's.
const (
	ExternalSecretSyncCalls           = "externalsecret_sync_calls_total"
	ExternalSecretSyncErrors          = "externalsecret_sync_calls_error"
	ExternalSecretStatusCondition     = "externalsecret_status_condition"
	ExternalSecretReconcileDuration   = "externalsecret_reconcile_duration"
	ProviderAPICalls                  = "externalsecret_provider_api_calls_count"
	SecretStoreStatusCondition        = "secretstore_status_condition"
	ClusterSecretStoreStatusCondition = "clustersecretstore_status_condition"

	LastSuccess            = "vigil_externalsecret_last_success_timestamp_seconds"
	RefreshInterval        = "vigil_externalsecret_refresh_interval_seconds"
	Ready                  = "vigil_externalsecret_ready"
	ReconcileDuration      = "vigil_reconcile_duration_seconds"
	ProviderRequestSeconds = "vigil_provider_request_duration_seconds"
)

// Metrics of the rollout controller and the policy audit.
const (
	Rollouts         = "vigil_rollouts_total"
	RolloutsSkipped  = "vigil_rollouts_skipped_total"
	RolloutDelay     = "vigil_rollout_delay_seconds"
	PolicyViolations = "vigil_policy_violations"
)

// Names lists every metric name Vigil exports or will export (see above).
func Names() []string {
	return append([]string{
		ExternalSecretSyncCalls, ExternalSecretSyncErrors, ExternalSecretStatusCondition,
		ExternalSecretReconcileDuration, ProviderAPICalls, SecretStoreStatusCondition,
		ClusterSecretStoreStatusCondition, LastSuccess, RefreshInterval, Ready, ReconcileDuration,
		ProviderRequestSeconds, PolicyViolations, Rollouts, RolloutsSkipped, RolloutDelay,
	}, pushSecretNames...)
}

// Recorder records Vigil's metrics. Its methods are safe for concurrent use.
type Recorder struct {
	// es holds the series of each ExternalSecret, compactly (externalsecrets.go).
	es                      *esCollector
	apiCalls                *prometheus.CounterVec
	ssCondition, cssCond    *prometheus.GaugeVec
	reconcile, providerTime *prometheus.HistogramVec
	rollouts, skipped       *prometheus.CounterVec
	rolloutDelay            *prometheus.HistogramVec
	violations              *prometheus.GaugeVec
	push                    pushMetrics // PushSecrets: pushsecret.go
}

// Label names shared by several metrics.
const (
	labelName      = "name"
	labelNamespace = "namespace"
	labelCondition = "condition"
	labelStatus    = "status"
	labelKind      = "kind"
)

// New creates the metrics and registers them with reg. When they are registered already
// (several managers in one process, as in tests), the registered ones are used.
func New(reg prometheus.Registerer) (*Recorder, error) {
	r := newRecorder()
	var err error
	err = register(reg, &r.es)
	for _, c := range []**prometheus.CounterVec{&r.apiCalls, &r.rollouts, &r.skipped} {
		err = errors.Join(err, register(reg, c))
	}
	for _, g := range []**prometheus.GaugeVec{&r.ssCondition, &r.cssCond, &r.violations} {
		err = errors.Join(err, register(reg, g))
	}
	for _, h := range []**prometheus.HistogramVec{&r.reconcile, &r.providerTime, &r.rolloutDelay} {
		err = errors.Join(err, register(reg, h))
	}
	err = errors.Join(err, r.push.register(reg))
	return r, err
}

// newRecorder creates every metric, unregistered.
func newRecorder() *Recorder {
	conditions := []string{labelName, labelNamespace, labelCondition, labelStatus}
	call := []string{"provider", "call", labelStatus}
	return &Recorder{
		es: newESCollector(),
		apiCalls: counter(ProviderAPICalls,
			"Calls to provider APIs by provider, call and status (success|error) (ESO-compatible).", call),
		ssCondition: gauge(SecretStoreStatusCondition,
			"1 for the current status of each condition of a SecretStore, 0 for the other (ESO-compatible).", conditions),
		cssCond: gauge(ClusterSecretStoreStatusCondition, "1 for the current status of each condition of a "+
			"ClusterSecretStore, 0 for the other (ESO-compatible).", []string{labelName, labelCondition, labelStatus}),
		reconcile: histogram(ReconcileDuration, "Duration of reconcile passes by controller.",
			[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, []string{"controller"}),
		providerTime: histogram(ProviderRequestSeconds, "Duration of provider API requests by provider, call and status.",
			[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, call),
		rollouts: counter(Rollouts,
			"Workload rollouts after Secret changes by kind and result (success|failed|stopped).",
			[]string{labelKind, "result"}),
		skipped: counter(RolloutsSkipped, "Rollouts not made, by reason (paused|loop|notoptedin: a "+
			"vigil.dev/rollout-targets workload that did not opt in).", []string{"reason"}),
		rolloutDelay: histogram(RolloutDelay, "Time from a Secret's change to the patch of a workload that consumes it.",
			[]float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}, []string{labelKind}),
		violations: gauge(PolicyViolations, "Objects that violate a policy rule, by rule, action, kind and "+
			"namespace (from the last audit).", []string{"rule", "action", labelKind, labelNamespace}),
		push: newPushMetrics(),
	}
}

func counter(name, help string, labels []string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func gauge(name, help string, labels []string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
}

func histogram(name, help string, buckets []float64, labels []string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}

// register registers *c, or points *c at the collector registered under the same name.
func register[T prometheus.Collector](reg prometheus.Registerer, c *T) error {
	err := reg.Register(*c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(T); ok {
			*c = existing
			return nil
		}
	}
	return err
}

// SyncAttempted counts a sync of an ExternalSecret and, when it failed, an error.
func (r *Recorder) SyncAttempted(namespace, name string, failed bool) {
	r.es.update(namespace, name, func(rec *esRecord) {
		rec.syncCalls++
		rec.hasCalls = true
		if failed {
			rec.syncErrors++
			rec.hasErrors = true
		}
	})
}

// ExternalSecret sets every state metric of an ExternalSecret from its status and spec.
func (r *Recorder) ExternalSecret(es *esv1.ExternalSecret, interval, took time.Duration) {
	ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
	r.es.update(es.Namespace, es.Name, func(rec *esRecord) {
		rec.hasState, rec.duration, rec.interval = true, took.Seconds(), interval.Seconds()
		if !es.Status.RefreshTime.IsZero() {
			rec.lastSuccess = es.Status.RefreshTime.Unix()
		}
		if ready != nil {
			rec.readyStatus, rec.readyReason = canonicalStatus(ready.Status), canonicalReason(ready.Reason)
		}
	})
}

// allReadyReasons are the values of the ready metric's reason label; any other reason is
// reported as "Other", so that the series count stays bounded.
var allReadyReasons = []string{
	esv1.ReasonSecretSynced, esv1.ReasonSecretSyncedError, esv1.ReasonSecretDeleted,
	esv1.ReasonSecretMissing, esv1.ReasonPolicyViolation, "Other",
}

// canonicalReason returns the label value for a Ready reason: one of allReadyReasons, so a
// record holds a shared constant rather than the status's string.
func canonicalReason(reason string) string {
	for _, r := range allReadyReasons {
		if r == reason {
			return r
		}
	}
	return "Other"
}

// canonicalStatus returns the condition status as a shared constant.
func canonicalStatus(s metav1.ConditionStatus) metav1.ConditionStatus {
	for _, c := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse} {
		if c == s {
			return c
		}
	}
	return metav1.ConditionUnknown
}

// ForgetExternalSecret removes every series of a deleted ExternalSecret.
func (r *Recorder) ForgetExternalSecret(namespace, name string) { r.es.forget(namespace, name) }

// Store sets the condition metrics of a SecretStore or ClusterSecretStore.
func (r *Recorder) Store(store esv1.GenericStore) {
	ready := apimeta.FindStatusCondition(store.GetStatus().Conditions, esv1.ConditionReady)
	if ready == nil {
		return
	}
	if store.GetKind() == esv1.ClusterSecretStoreKind {
		setCondition(r.cssCond, []string{store.GetName()}, ready)
		return
	}
	setCondition(r.ssCondition, []string{store.GetName(), store.GetNamespace()}, ready)
}

// ForgetStore removes every series of a deleted store.
func (r *Recorder) ForgetStore(kind, namespace, name string) {
	if kind == esv1.ClusterSecretStoreKind {
		r.cssCond.DeletePartialMatch(prometheus.Labels{labelName: name})
		return
	}
	r.ssCondition.DeletePartialMatch(prometheus.Labels{labelName: name, labelNamespace: namespace})
}

// setCondition sets ESO's pair of series for one condition: 1 for its status, 0 for the
// opposite one.
func setCondition(g *prometheus.GaugeVec, objLabels []string, c *metav1.Condition) {
	for _, s := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse} {
		v := 0.0
		if c.Status == s {
			v = 1
		}
		g.WithLabelValues(append(append([]string{}, objLabels...), c.Type, string(s))...).Set(v)
	}
}

// Reconciled observes the duration of a reconcile pass.
func (r *Recorder) Reconciled(controller string, took time.Duration) {
	r.reconcile.WithLabelValues(controller).Observe(took.Seconds())
}

// ProviderCall records one provider API call. provider and call use ESO's values
// (e.g. "AWS/SecretsManager", "GetSecretValue").
func (r *Recorder) ProviderCall(provider, call string, err error, took time.Duration) {
	status := "success"
	if err != nil {
		status = "error"
	}
	r.apiCalls.WithLabelValues(provider, call, status).Inc()
	r.providerTime.WithLabelValues(provider, call, status).Observe(took.Seconds())
}

// Rollout counts a rollout (result success, failed or stopped) and, for a success, the
// time since the Secret changed.
func (r *Recorder) Rollout(kind, result string, sinceChange time.Duration) {
	r.rollouts.WithLabelValues(kind, result).Inc()
	if result == "success" && sinceChange > 0 {
		r.rolloutDelay.WithLabelValues(kind).Observe(sinceChange.Seconds())
	}
}

// RolloutSkipped counts a rollout that was not made.
func (r *Recorder) RolloutSkipped(reason string) { r.skipped.WithLabelValues(reason).Inc() }

// PolicyViolations replaces the violation counts with those of the last audit, keyed by
// {rule, action, kind, namespace}; series of fixed objects disappear.
func (r *Recorder) PolicyViolations(counts map[[4]string]float64) {
	r.violations.Reset()
	for k, n := range counts {
		r.violations.WithLabelValues(k[0], k[1], k[2], k[3]).Set(n)
	}
}
