package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
)

// PushSecret metrics: ESO's two (pkg/controllers/pushsecret/psmetrics: ESO exports no
// PushSecret sync counters), and Vigil's ready-with-reason series that the
// VigilPushSecretNotSynced alert reads, as vigil_externalsecret_ready for ExternalSecrets.
const (
	PushSecretStatusCondition   = "pushsecret_status_condition"
	PushSecretReconcileDuration = "pushsecret_reconcile_duration"
	PushSecretReady             = "vigil_pushsecret_ready"
)

// pushSecretNames are the PushSecret metric names (Names lists them).
var pushSecretNames = []string{PushSecretStatusCondition, PushSecretReconcileDuration, PushSecretReady}

// pushReadyReasons are the reasons vigil_pushsecret_ready may carry (ESO's, and Vigil's
// PolicyViolation); any other is reported as "Other", so that the series count stays bounded.
var pushReadyReasons = []string{
	esv1alpha1.ReasonSynced, esv1alpha1.ReasonErrored, esv1alpha1.ReasonSourceDeleted, esv1.ReasonPolicyViolation,
	reasonOther,
}

// The label of the ready series' reason, and its value for a reason not listed.
const (
	labelReason = "reason"
	reasonOther = "Other"
)

// pushMetrics are the PushSecret series of a Recorder.
type pushMetrics struct {
	condition, duration, ready *prometheus.GaugeVec
}

func newPushMetrics() pushMetrics {
	object := []string{labelName, labelNamespace}
	return pushMetrics{
		condition: gauge(PushSecretStatusCondition, "1 for the current status of each condition of a PushSecret, "+
			"0 for the other (ESO-compatible).", []string{labelName, labelNamespace, labelCondition, labelStatus}),
		duration: gauge(PushSecretReconcileDuration,
			"Duration in seconds of the last reconcile of a PushSecret (ESO-compatible name).", object),
		ready: gauge(PushSecretReady, "1 with the reason of the Ready condition of a PushSecret (one series per object).",
			[]string{labelName, labelNamespace, labelReason}),
	}
}

func (p *pushMetrics) register(reg prometheus.Registerer) error {
	return errors.Join(register(reg, &p.condition), register(reg, &p.duration), register(reg, &p.ready))
}

// PushSecret sets every state metric of a PushSecret from its status, once at the end of
// each reconcile pass (took is the pass's duration): ESO's pushsecret_status_condition (1
// for the Ready condition's status, 0 for the other) and pushsecret_reconcile_duration, and
// vigil_pushsecret_ready with the Ready reason. Before the first Ready condition only the
// duration is set.
func (r *Recorder) PushSecret(ps *esv1alpha1.PushSecret, took time.Duration) {
	name, ns := ps.Name, ps.Namespace
	r.push.duration.WithLabelValues(name, ns).Set(took.Seconds())
	var ready *esv1alpha1.PushSecretStatusCondition
	for i := range ps.Status.Conditions {
		if ps.Status.Conditions[i].Type == esv1alpha1.PushSecretReady {
			ready = &ps.Status.Conditions[i]
		}
	}
	if ready == nil {
		return
	}
	for _, s := range []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse} {
		v := 0.0
		if ready.Status == s {
			v = 1
		}
		r.push.condition.WithLabelValues(name, ns, string(esv1alpha1.PushSecretReady), string(s)).Set(v)
	}
	reason := reasonOther
	for _, known := range pushReadyReasons {
		if ready.Reason == known {
			reason = known
		}
	}
	for _, other := range pushReadyReasons {
		if other != reason {
			r.push.ready.DeleteLabelValues(name, ns, other)
		}
	}
	r.push.ready.WithLabelValues(name, ns, reason).Set(1)
}

// ForgetPushSecret removes every series of a deleted PushSecret.
func (r *Recorder) ForgetPushSecret(namespace, name string) {
	r.push.duration.DeleteLabelValues(name, namespace)
	for _, s := range []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse} {
		r.push.condition.DeleteLabelValues(name, namespace, string(esv1alpha1.PushSecretReady), string(s))
	}
	for _, reason := range pushReadyReasons {
		r.push.ready.DeleteLabelValues(name, namespace, reason)
	}
}
