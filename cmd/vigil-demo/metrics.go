package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

// scrape is the not-synced metric of namespace payments as one read of /metrics saw it.
type scrape struct {
	phase  string   // healthy, broken, healed
	series []sample // vigil_externalsecret_ready{namespace="payments"}
}

// sample is one series of a scrape.
type sample struct {
	labels map[string]string
	value  float64
}

// breakBackend makes the backend refuse every request of the controller, forces a sync
// and shows the ExternalSecret and the not-synced metric turn.
func (d *demo) breakBackend() error {
	step("Breaking the backend: Secrets Manager now refuses every request of Vigil (ThrottlingException)",
		"After a forced sync db-credentials reports SecretSyncedError and the not-synced metric turns on.")
	if err := d.recordScrape("healthy", esv1.ReasonSecretSynced, false); err != nil {
		return err
	}
	d.proxy.Throttle(true)
	if err := d.forceSync(dbSecret); err != nil {
		return err
	}
	if err := waitReason(d.ctx, d.cp.Client, dbSecret, esv1.ReasonSecretSyncedError); err != nil {
		return err
	}
	if err := d.showFailure(); err != nil {
		return err
	}
	return d.recordScrape("broken", esv1.ReasonSecretSyncedError, true)
}

// showFailure prints the failing ExternalSecret, its Ready message, and its Secret, which
// keeps the last good data.
func (d *demo) showFailure() error {
	fmt.Println("\n$ kubectl get externalsecret " + dbSecret + " -n payments")
	if err := printTable(d.ctx, d.cp, esPath+"/"+dbSecret); err != nil {
		return err
	}
	var es esv1.ExternalSecret
	if err := d.cp.Client.Get(d.ctx, key(dbSecret), &es); err != nil {
		return err
	}
	if ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady); ready != nil {
		fmt.Printf("    Ready=%s %s: %s\n", ready.Status, ready.Reason, ready.Message)
	}
	hash, err := secretHash(d.ctx, d.cp.Client, dbSecret)
	fmt.Printf("    Secret payments/%s keeps its last good data: %s %s\n", dbSecret, esv1.AnnotationDataHash, hash)
	return err
}

// healBackend lets requests through again and shows Vigil recover by itself.
func (d *demo) healBackend() error {
	step("Healing the backend",
		"Vigil retries with backoff by itself: db-credentials is SecretSynced again and the not-synced metric turns off.")
	d.proxy.Throttle(false)
	if err := waitReason(d.ctx, d.cp.Client, dbSecret, esv1.ReasonSecretSynced); err != nil {
		return err
	}
	return d.recordScrape("healed", esv1.ReasonSecretSynced, true)
}

// recordScrape waits until /metrics reports db-credentials with the reason, keeps the
// scrape for promtool and prints the series of db-credentials (when show is set).
func (d *demo) recordScrape(phase, reason string, show bool) error {
	want := map[string]string{"namespace": namespace, "name": dbSecret, "reason": reason}
	var fams map[string]*dto.MetricFamily
	var s scrape
	err := harness.WaitFor(d.ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		var err error
		if fams, err = readMetrics(ctx, d.vigil.metricsURL); err != nil {
			return false, err
		}
		s = scrape{phase: phase, series: series(fams, metrics.Ready, map[string]string{"namespace": namespace})}
		return slices.ContainsFunc(s.series, func(x sample) bool { return x.value == 1 && hasLabels(x, want) }), nil
	})
	if err != nil {
		return fmt.Errorf("%s does not report %s for %s: %w", metrics.Ready, reason, dbSecret, err)
	}
	d.scrapes = append(d.scrapes, s)
	if show {
		printSeries(d.vigil.metricsURL, fams)
	}
	return nil
}

// printSeries prints Vigil's not-synced metric and ESO's condition metric of db-credentials.
func printSeries(url string, fams map[string]*dto.MetricFamily) {
	names := []string{metrics.Ready, metrics.ExternalSecretStatusCondition}
	fmt.Printf("\n$ curl -s %s | grep -E '^(%s)' | grep 'name=\"%s\"'\n", url, strings.Join(names, "|"), dbSecret)
	for _, name := range names {
		for _, x := range series(fams, name, map[string]string{"namespace": namespace, "name": dbSecret}) {
			fmt.Printf("%s%s %g\n", name, formatLabels(x.labels), x.value)
		}
	}
}

// scrapeOf returns the scrape of a phase.
func (d *demo) scrapeOf(phase string) scrape {
	for _, s := range d.scrapes {
		if s.phase == phase {
			return s
		}
	}
	return scrape{phase: phase}
}

// readMetrics reads and parses a Prometheus text endpoint.
func readMetrics(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// series returns the gauge series of a family whose labels include every given label.
func series(fams map[string]*dto.MetricFamily, name string, labels map[string]string) []sample {
	var out []sample
	for _, m := range fams[name].GetMetric() {
		s := sample{labels: map[string]string{}, value: m.GetGauge().GetValue()}
		for _, l := range m.GetLabel() {
			s.labels[l.GetName()] = l.GetValue()
		}
		if hasLabels(s, labels) {
			out = append(out, s)
		}
	}
	return out
}

func hasLabels(s sample, want map[string]string) bool {
	for k, v := range want {
		if s.labels[k] != v {
			return false
		}
	}
	return true
}

// formatLabels writes labels as Prometheus does: {a="x", b="y"}, sorted by name.
func formatLabels(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
