package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
)

func ps(reason string, status corev1.ConditionStatus) *esv1alpha1.PushSecret {
	p := &esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "push"}}
	p.Status.Conditions = []esv1alpha1.PushSecretStatusCondition{{Type: esv1alpha1.PushSecretReady, Status: status, Reason: reason}}
	return p
}

// ESO's names and labels, derived from the status: the Ready condition's status is 1 and the
// other 0; vigil_pushsecret_ready keeps one series, with the current reason; a deleted
// PushSecret leaves no series.
func TestPushSecret_DerivesSeriesFromStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	r.PushSecret(ps(esv1alpha1.ReasonSynced, corev1.ConditionTrue), 2*time.Second)
	r.PushSecret(ps(esv1alpha1.ReasonErrored, corev1.ConditionFalse), 250*time.Millisecond)

	want := `
# HELP pushsecret_status_condition 1 for the current status of each condition of a PushSecret, 0 for the other (ESO-compatible).
# TYPE pushsecret_status_condition gauge
pushsecret_status_condition{condition="Ready",name="push",namespace="ns",status="False"} 1
pushsecret_status_condition{condition="Ready",name="push",namespace="ns",status="True"} 0
# HELP pushsecret_reconcile_duration Duration in seconds of the last reconcile of a PushSecret (ESO-compatible name).
# TYPE pushsecret_reconcile_duration gauge
pushsecret_reconcile_duration{name="push",namespace="ns"} 0.25
# HELP vigil_pushsecret_ready 1 with the reason of the Ready condition of a PushSecret (one series per object).
# TYPE vigil_pushsecret_ready gauge
vigil_pushsecret_ready{name="push",namespace="ns",reason="Errored"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), PushSecretStatusCondition, PushSecretReconcileDuration, PushSecretReady); err != nil {
		t.Error(err)
	}

	r.PushSecret(ps("SomethingNew", corev1.ConditionFalse), 0)
	if v := testutil.ToFloat64(r.push.ready.WithLabelValues("push", "ns", "Other")); v != 1 {
		t.Errorf("an unknown reason is not reported as Other")
	}
	r.ForgetPushSecret("ns", "push")
	if n, _ := testutil.GatherAndCount(reg, PushSecretStatusCondition, PushSecretReconcileDuration, PushSecretReady); n != 0 {
		t.Errorf("%d series remain after ForgetPushSecret", n)
	}
}

// A PushSecret that has not been judged yet (no Ready condition) has no condition series:
// an alert must not read "not synced" into a pass that has not finished.
func TestPushSecret_NoConditionNoConditionSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, _ := New(reg)
	r.PushSecret(&esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "new"}}, time.Millisecond)
	if n, _ := testutil.GatherAndCount(reg, PushSecretStatusCondition, PushSecretReady); n != 0 {
		t.Errorf("%d condition series for a PushSecret without conditions", n)
	}
}
