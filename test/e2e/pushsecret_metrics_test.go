package e2e

import (
	"context"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/types"

	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

// A PushSecret's metrics follow its status on the controller's /metrics, under ESO's names:
// pushsecret_status_condition says Ready False while its source is missing (and the shipped
// VigilPushSecretNotSynced fires on the scraped series), True once pushed (and the alert is
// quiet), with pushsecret_reconcile_duration and vigil_pushsecret_ready beside it; deleting
// the PushSecret (deletionPolicy Delete, so through the finalizer) removes every series.
func TestPushSecret_MetricsFollowStatus(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	remote := ns + "/push/metrics"
	ps := pushSecret(ns, "observed", "aws", "later", pushEntry("k", remote, ""))
	ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
	h.Create(awsStore(ns, "aws"), ps)
	key := types.NamespacedName{Namespace: ns, Name: "observed"}
	h.WaitPushMessage(key, `Secret "later" does not exist`)
	families := waitPushSeries(t, key, "False", esv1alpha1.ReasonErrored)
	assertAlerts(t, "source missing", families, ns, key.Name, map[string]bool{"VigilPushSecretNotSynced": true})

	h.Create(sourceSecret(ns, "later", map[string]string{"k": "metrics-value-4s5t"}))
	h.ForcePush(key)
	h.WaitPushed(key)
	families = waitPushSeries(t, key, "True", esv1alpha1.ReasonSynced)
	assertAlerts(t, "pushed", families, ns, key.Name, map[string]bool{"VigilPushSecretNotSynced": false})

	h.Delete(ps)
	err := harness.WaitFor(h.Ctx, waitTimeout, func(context.Context) (bool, error) {
		return len(seriesOf(h.Scrape(), ns, key.Name)) == 0, nil
	})
	if err != nil {
		t.Errorf("series of the deleted PushSecret remain in /metrics: %v", seriesNames(seriesOf(h.Scrape(), ns, key.Name)))
	}
	if _, ok := remoteValue(t, h.Ctx, remote); ok {
		t.Error("deleting the PushSecret did not delete its remote secret (deletionPolicy Delete)")
	}
}

// waitPushSeries scrapes until the PushSecret's series say its Ready condition has status
// (ESO's pushsecret_status_condition: 1 for it, 0 for the other) and reason (Vigil's
// vigil_pushsecret_ready), with a reconcile duration, and returns that scrape: metrics are
// recorded after the status write, so the first scrape after the status changed may miss it.
func waitPushSeries(t *testing.T, key types.NamespacedName, status, reason string) map[string]*dto.MetricFamily {
	t.Helper()
	h := env.T(t)
	var families map[string]*dto.MetricFamily
	var last []series
	err := harness.WaitFor(h.Ctx, waitTimeout, func(context.Context) (bool, error) {
		families = h.Scrape()
		last = seriesOf(families, key.Namespace, key.Name)
		cond, other, ready, duration := false, false, false, false
		for _, s := range last {
			switch s.name {
			case metrics.PushSecretStatusCondition:
				if s.labels["condition"] != string(esv1alpha1.PushSecretReady) {
					continue
				}
				if s.labels["status"] == status {
					cond = s.value == 1
				} else {
					other = s.value == 0
				}
			case metrics.PushSecretReady:
				ready = ready || (s.labels["reason"] == reason && s.value == 1)
			case metrics.PushSecretReconcileDuration:
				duration = s.value > 0
			}
		}
		return cond && other && ready && duration, nil
	})
	if err != nil {
		t.Fatalf("/metrics does not show PushSecret %s as Ready %s (%s): %v (series: %v)", key, status, reason, err, last)
	}
	return families
}
