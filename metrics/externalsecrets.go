package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// esCollector exports the series of each ExternalSecret (ESO's sync counters, condition
// and reconcile duration, and Vigil's ready, last success and refresh interval) from one
// compact record per object, rendered at scrape time. A GaugeVec or CounterVec keeps a
// child per label set, with its label values, label pairs and hashes: eight of them per
// ExternalSecret came to ~2.8 kB, 28 MB at 10,000. A record is about 150 bytes. The names,
// labels, help and values are those the Vecs exported.
type esCollector struct {
	mu   sync.RWMutex
	objs map[objectKey]*esRecord

	syncCalls, syncErrors, condition, duration, lastSuccess, interval, ready *prometheus.Desc
}

type objectKey struct{ namespace, name string }

// esRecord is what the series of one ExternalSecret are rendered from.
type esRecord struct {
	syncCalls, syncErrors uint64
	// hasState: ExternalSecret was called (duration and interval are set).
	hasState            bool
	duration, interval  float64
	lastSuccess         int64 // Unix seconds; 0: none yet
	readyStatus         metav1.ConditionStatus
	readyReason         string // one of allReadyReasons; "": no Ready condition yet
	hasErrors, hasCalls bool
}

func newESCollector() *esCollector {
	object := []string{labelName, labelNamespace}
	conditions := []string{labelName, labelNamespace, labelCondition, labelStatus}
	return &esCollector{
		objs: map[objectKey]*esRecord{},
		syncCalls: prometheus.NewDesc(ExternalSecretSyncCalls,
			"Syncs of ExternalSecrets attempted (ESO-compatible).", object, nil),
		syncErrors: prometheus.NewDesc(ExternalSecretSyncErrors,
			"Syncs of ExternalSecrets that failed (ESO-compatible).", object, nil),
		condition: prometheus.NewDesc(ExternalSecretStatusCondition, "1 for the current status of each condition of an "+
			"ExternalSecret, 0 for the other (ESO-compatible).", conditions, nil),
		duration: prometheus.NewDesc(ExternalSecretReconcileDuration,
			"Duration in seconds of the last reconcile of an ExternalSecret (ESO-compatible name).", object, nil),
		lastSuccess: prometheus.NewDesc(LastSuccess,
			"Unix time of the last successful sync of an ExternalSecret (status.refreshTime).", object, nil),
		interval: prometheus.NewDesc(RefreshInterval,
			"Refresh interval of an ExternalSecret in seconds; 0 when it is not refreshed periodically.", object, nil),
		ready: prometheus.NewDesc(Ready,
			"1 with the reason of the Ready condition of an ExternalSecret (one series per object).",
			[]string{labelName, labelNamespace, "reason"}, nil),
	}
}

// update changes the record of one ExternalSecret under the lock, creating it if needed.
func (c *esCollector) update(namespace, name string, f func(*esRecord)) {
	key := objectKey{namespace: namespace, name: name}
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, ok := c.objs[key]
	if !ok {
		rec = &esRecord{}
		c.objs[key] = rec
	}
	f(rec)
}

func (c *esCollector) forget(namespace, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.objs, objectKey{namespace: namespace, name: name})
}

// Describe sends the descriptions of every series this collector exports.
func (c *esCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.syncCalls, c.syncErrors, c.condition, c.duration, c.lastSuccess, c.interval, c.ready,
	} {
		ch <- d
	}
}

// Collect renders the series of every ExternalSecret from its record.
func (c *esCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for key, rec := range c.objs {
		c.collectOne(ch, key.name, key.namespace, rec)
	}
}

func (c *esCollector) collectOne(ch chan<- prometheus.Metric, name, ns string, rec *esRecord) {
	if rec.hasCalls {
		ch <- prometheus.MustNewConstMetric(c.syncCalls, prometheus.CounterValue, float64(rec.syncCalls), name, ns)
	}
	if rec.hasErrors {
		ch <- prometheus.MustNewConstMetric(c.syncErrors, prometheus.CounterValue, float64(rec.syncErrors), name, ns)
	}
	if rec.hasState {
		ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, rec.duration, name, ns)
		ch <- prometheus.MustNewConstMetric(c.interval, prometheus.GaugeValue, rec.interval, name, ns)
	}
	if rec.lastSuccess != 0 {
		ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, float64(rec.lastSuccess), name, ns)
	}
	if rec.readyReason == "" {
		return
	}
	for _, s := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse} {
		v := 0.0
		if rec.readyStatus == s {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.condition, prometheus.GaugeValue, v, name, ns, esv1.ConditionReady, string(s))
	}
	ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, 1, name, ns, rec.readyReason)
}
