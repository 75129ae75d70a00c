package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func es(reason string, status metav1.ConditionStatus) *esv1.ExternalSecret {
	e := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db"}}
	e.Status.RefreshTime = metav1.NewTime(time.Unix(1700000000, 0))
	e.Status.Conditions = []metav1.Condition{{Type: esv1.ConditionReady, Status: status, Reason: reason}}
	return e
}

func TestExternalSecret_DerivesSeriesFromStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	r.ExternalSecret(es(esv1.ReasonSecretSynced, metav1.ConditionTrue), time.Hour, time.Millisecond)
	r.ExternalSecret(es(esv1.ReasonSecretSyncedError, metav1.ConditionFalse), time.Hour, time.Millisecond)

	want := `
# HELP vigil_externalsecret_ready 1 with the reason of the Ready condition of an ExternalSecret (one series per object).
# TYPE vigil_externalsecret_ready gauge
vigil_externalsecret_ready{name="db",namespace="ns",reason="SecretSyncedError"} 1
# HELP vigil_externalsecret_last_success_timestamp_seconds Unix time of the last successful sync of an ExternalSecret (status.refreshTime).
# TYPE vigil_externalsecret_last_success_timestamp_seconds gauge
vigil_externalsecret_last_success_timestamp_seconds{name="db",namespace="ns"} 1.7e+09
# HELP vigil_externalsecret_refresh_interval_seconds Refresh interval of an ExternalSecret in seconds; 0 when it is not refreshed periodically.
# TYPE vigil_externalsecret_refresh_interval_seconds gauge
vigil_externalsecret_refresh_interval_seconds{name="db",namespace="ns"} 3600
# HELP externalsecret_status_condition 1 for the current status of each condition of an ExternalSecret, 0 for the other (ESO-compatible).
# TYPE externalsecret_status_condition gauge
externalsecret_status_condition{condition="Ready",name="db",namespace="ns",status="False"} 1
externalsecret_status_condition{condition="Ready",name="db",namespace="ns",status="True"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), Ready, LastSuccess, RefreshInterval, ExternalSecretStatusCondition); err != nil {
		t.Error(err)
	}

	r.ForgetExternalSecret("ns", "db")
	if n, _ := testutil.GatherAndCount(reg, Ready, LastSuccess, RefreshInterval, ExternalSecretStatusCondition, ExternalSecretReconcileDuration); n != 0 {
		t.Errorf("%d series remain after ForgetExternalSecret", n)
	}
}

func TestReady_UnknownReasonsAreBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, _ := New(reg)
	r.ExternalSecret(es("SomethingNew", metav1.ConditionFalse), 0, 0)
	want := `
# HELP vigil_externalsecret_ready 1 with the reason of the Ready condition of an ExternalSecret (one series per object).
# TYPE vigil_externalsecret_ready gauge
vigil_externalsecret_ready{name="db",namespace="ns",reason="Other"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), Ready); err != nil {
		t.Errorf("unknown reason not reported as Other: %v", err)
	}
}

// ESO's counters: a sync counted, and an error only once a sync failed (no zero series for
// an ExternalSecret that never failed).
func TestSyncAttempted_CountsCallsAndErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, _ := New(reg)
	r.SyncAttempted("ns", "ok", false)
	r.SyncAttempted("ns", "db", false)
	r.SyncAttempted("ns", "db", true)
	want := `
# HELP externalsecret_sync_calls_total Syncs of ExternalSecrets attempted (ESO-compatible).
# TYPE externalsecret_sync_calls_total counter
externalsecret_sync_calls_total{name="db",namespace="ns"} 2
externalsecret_sync_calls_total{name="ok",namespace="ns"} 1
# HELP externalsecret_sync_calls_error Syncs of ExternalSecrets that failed (ESO-compatible).
# TYPE externalsecret_sync_calls_error counter
externalsecret_sync_calls_error{name="db",namespace="ns"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), ExternalSecretSyncCalls, ExternalSecretSyncErrors); err != nil {
		t.Error(err)
	}
	r.ForgetExternalSecret("ns", "db")
	if n, _ := testutil.GatherAndCount(reg, ExternalSecretSyncCalls, ExternalSecretSyncErrors); n != 1 {
		t.Errorf("%d series after forgetting db, want ok's 1", n)
	}
}

func TestNew_TwiceOnOneRegistryShares(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(reg)
	if err != nil {
		t.Fatalf("second New on the same registry: %v", err)
	}
	b.SyncAttempted("ns", "db", true)
	if a.es != b.es {
		t.Errorf("the second recorder does not share the registered ExternalSecret series")
	}
	if n, _ := testutil.GatherAndCount(reg, ExternalSecretSyncErrors); n != 1 {
		t.Errorf("%d error series, want 1", n)
	}
}

func TestProviderCall(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, _ := New(reg)
	r.ProviderCall("AWS/SecretsManager", "GetSecretValue", nil, time.Millisecond)
	r.ProviderCall("AWS/SecretsManager", "GetSecretValue", errors.New("x"), time.Millisecond)
	for status, want := range map[string]float64{"success": 1, "error": 1} {
		if v := testutil.ToFloat64(r.apiCalls.WithLabelValues("AWS/SecretsManager", "GetSecretValue", status)); v != want {
			t.Errorf("status %s: %v calls, want %v", status, v, want)
		}
	}
}
