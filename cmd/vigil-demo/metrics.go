package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	apimeta "k8s.io/apimachinery/pkg/api/meta"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

// scrape is the not-synced metric of namespace payments as one read of /metrics saw it.
type scrape struct {
	phase  string           // healthy, broken, healed
	series []harness.Sample // vigil_externalsecret_ready{namespace="payments"}
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
	if err := d.waitReason(dbSecret, esv1.ReasonSecretSyncedError); err != nil {
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
	if err := d.waitReason(dbSecret, esv1.ReasonSecretSynced); err != nil {
		return err
	}
	return d.recordScrape("healed", esv1.ReasonSecretSynced, true)
}

// recordScrape waits until /metrics reports db-credentials with the reason, keeps the
// scrape for promtool and prints the series of db-credentials (when show is set).
func (d *demo) recordScrape(phase, reason string, show bool) error {
	want := dbLabels()
	want["reason"] = reason
	var fams harness.Families
	err := harness.WaitFor(d.ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		var err error
		fams, err = d.env.Scrape(ctx)
		v, _ := fams.Value(metrics.Ready, want)
		return v == 1, err
	})
	if err != nil {
		return fmt.Errorf("%s does not report %s for %s: %w", metrics.Ready, reason, dbSecret, err)
	}
	series := fams.Series(metrics.Ready, nsLabels())
	d.scrapes = append(d.scrapes, scrape{phase: phase, series: series})
	if show {
		printSeries(d.vigil.MetricsURL, fams)
	}
	return nil
}

// printSeries prints Vigil's not-synced metric and ESO's condition metric of db-credentials.
func printSeries(url string, fams harness.Families) {
	names := []string{metrics.Ready, metrics.ExternalSecretStatusCondition}
	fmt.Printf("\n$ curl -s %s | grep -E '^(%s)' | grep 'name=\"%s\"'\n", url, strings.Join(names, "|"), dbSecret)
	for _, name := range names {
		for _, x := range fams.Series(name, dbLabels()) {
			fmt.Printf("%s%s %g\n", name, formatLabels(x.Labels), x.Value)
		}
	}
}

// nsLabels select the series of namespace payments.
func nsLabels() map[string]string { return map[string]string{"namespace": namespace} }

// dbLabels select the series of db-credentials.
func dbLabels() map[string]string {
	l := nsLabels()
	l["name"] = dbSecret
	return l
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

// formatLabels writes labels as Prometheus does: {a="x", b="y"}, sorted by name.
func formatLabels(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
