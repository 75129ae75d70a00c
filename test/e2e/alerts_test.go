package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-dev/vigil/alerts"
	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

// The shipped alerts fire on what Vigil really exports: the controller's /metrics is
// scraped at each step of synced -> backend down -> stale -> recovered, and promtool
// evaluates the shipped rules on the scraped series.
func TestAlerts_FireOnScrapedMetrics(t *testing.T) {
	// Not parallel: it stops moto, which every test reads.
	h := env.T(t)
	ctx := context.Background()
	const interval = 5 * time.Second
	ns, key := setupDB(t, "alert-pw-1", func(es *esv1.ExternalSecret) {
		es.Spec.RefreshInterval = &metav1.Duration{Duration: interval}
	})
	h.WaitReason(key, esv1.ReasonSecretSynced)
	assertAlerts(t, "synced", scrapeWithSeries(t, ctx, ns, "db"), ns, "db", map[string]bool{"VigilExternalSecretNotSynced": false, "VigilExternalSecretStale": false})

	moto.Stop()
	t.Cleanup(func() { _ = moto.Start() })
	h.WaitReason(key, esv1.ReasonSecretSyncedError)
	// Observed right after the first failed refresh: about one interval since the last
	// success, so not stale yet (stale is more than two). On a loaded machine the failure can
	// be seen later than that, and then the stale alert rightly fires too: what is expected
	// follows the scraped last-success time (second precision, hence the margin), not the clock.
	down := h.Scrape()
	want := map[string]bool{"VigilExternalSecretNotSynced": true}
	if last, ok := sample(down, metrics.LastSuccess, ns, "db"); ok {
		switch age := time.Since(time.Unix(int64(last), 0)); {
		case age < 2*interval-2*time.Second:
			want["VigilExternalSecretStale"] = false
		case age > 2*interval+2*time.Second:
			want["VigilExternalSecretStale"] = true
		}
	}
	assertAlerts(t, "backend down", down, ns, "db", want)

	// Wait (this is waiting for time to pass, not a speed assertion) until the last success
	// is older than twice the interval, as the scraped timestamp says.
	var families map[string]*dto.MetricFamily
	err := harness.WaitFor(ctx, time.Minute, func(context.Context) (bool, error) {
		families = h.Scrape()
		last, ok := sample(families, metrics.LastSuccess, ns, "db")
		return ok && time.Since(time.Unix(int64(last), 0)) > 2*interval+time.Second, nil
	})
	if err != nil {
		t.Fatalf("the last success never aged past twice the interval: %v", err)
	}
	assertAlerts(t, "stale", families, ns, "db", map[string]bool{"VigilExternalSecretNotSynced": true, "VigilExternalSecretStale": true})

	if err := moto.Start(); err != nil {
		t.Fatal(err)
	}
	h.PutRemote(ns+"/db", `{"password":"alert-pw-1"}`)
	h.WaitReason(key, esv1.ReasonSecretSynced)
	assertAlerts(t, "recovered", h.Scrape(), ns, "db", map[string]bool{"VigilExternalSecretNotSynced": false, "VigilExternalSecretStale": false})

	// Deleting the ExternalSecret removes its series.
	if err := cp.Client.Delete(ctx, &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}}); err != nil {
		t.Fatal(err)
	}
	err = harness.WaitFor(ctx, waitTimeout, func(context.Context) (bool, error) {
		return len(seriesOf(h.Scrape(), ns, "db")) == 0, nil
	})
	if err != nil {
		t.Errorf("series of the deleted ExternalSecret remain in /metrics: %v", seriesNames(seriesOf(h.Scrape(), ns, "db")))
	}
}

type series struct {
	name   string
	labels map[string]string
	value  float64
}

// seriesOf returns the gauge and counter series of one ExternalSecret.
func seriesOf(families map[string]*dto.MetricFamily, ns, name string) []series {
	var out []series
	for fname, f := range families {
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] != ns || labels["name"] != name {
				continue
			}
			switch {
			case m.Gauge != nil:
				out = append(out, series{fname, labels, m.Gauge.GetValue()})
			case m.Counter != nil:
				out = append(out, series{fname, labels, m.Counter.GetValue()})
			}
		}
	}
	return out
}

func seriesNames(ss []series) []string {
	var names []string
	for _, s := range ss {
		names = append(names, s.name)
	}
	return names
}

func sample(families map[string]*dto.MetricFamily, metric, ns, name string) (float64, bool) {
	for _, s := range seriesOf(families, ns, name) {
		if s.name == metric {
			return s.value, true
		}
	}
	return 0, false
}

// scrapeWithSeries scrapes until the ExternalSecret's series are exported: the metrics are
// recorded after the status write, so a scrape right after Ready turns true can miss them.
func scrapeWithSeries(t *testing.T, ctx context.Context, ns, name string) map[string]*dto.MetricFamily {
	t.Helper()
	var families map[string]*dto.MetricFamily
	if err := harness.WaitFor(ctx, 30*time.Second, func(context.Context) (bool, error) {
		families = env.T(t).Scrape()
		return len(seriesOf(families, ns, name)) > 0, nil
	}); err != nil {
		t.Fatalf("no series for ExternalSecret %s/%s in /metrics: %v", ns, name, err)
	}
	return families
}

// assertAlerts has promtool evaluate the shipped rules on the scraped series of one
// ExternalSecret, held as they were scraped for 30 minutes (long enough for every `for`),
// and checks which alerts fire. Timestamps are rebased so that time() - timestamp stays
// what it was at the scrape: the age the alert judges is the real one.
func assertAlerts(t *testing.T, step string, families map[string]*dto.MetricFamily, ns, name string, want map[string]bool) {
	t.Helper()
	scraped := float64(time.Now().Unix())
	ss := seriesOf(families, ns, name)
	if len(ss) == 0 {
		t.Fatalf("%s: no series for ExternalSecret %s/%s in /metrics", step, ns, name)
	}
	type inputSeries struct {
		Series string `json:"series"`
		Values string `json:"values"`
	}
	type sampleT struct {
		Labels string  `json:"labels"`
		Value  float64 `json:"value"`
	}
	type exprTest struct {
		Expr       string    `json:"expr"`
		EvalTime   string    `json:"eval_time"`
		ExpSamples []sampleT `json:"exp_samples"`
	}
	var inputs []inputSeries
	for _, s := range ss {
		// The job label Prometheus adds when it scrapes the release the shipped rules select.
		sel := []string{fmt.Sprintf("job=%q", alerts.Job)}
		for _, k := range slices.Sorted(maps.Keys(s.labels)) {
			sel = append(sel, fmt.Sprintf("%s=%q", k, s.labels[k]))
		}
		values := fmt.Sprintf("%sx30", num(s.value))
		if strings.HasSuffix(s.name, "_timestamp_seconds") {
			values = fmt.Sprintf("%s+60x30", num(s.value-scraped))
		}
		inputs = append(inputs, inputSeries{Series: s.name + "{" + strings.Join(sel, ", ") + "}", Values: values})
	}
	var checks []exprTest
	for _, alert := range slices.Sorted(maps.Keys(want)) {
		c := exprTest{Expr: fmt.Sprintf(`count(ALERTS{alertname=%q, alertstate="firing", namespace=%q, name=%q})`, alert, ns, name), EvalTime: "30m", ExpSamples: []sampleT{}}
		if want[alert] {
			c.ExpSamples = []sampleT{{Labels: "{}", Value: 1}}
		}
		checks = append(checks, c)
	}
	test := map[string]any{
		"rule_files":          []string{"vigil.rules.yaml"},
		"evaluation_interval": "1m",
		"tests":               []any{map[string]any{"interval": "1m", "input_series": inputs, "promql_expr_test": checks}},
	}
	dir := t.TempDir()
	rules, err := alerts.RuleFile()
	if err != nil {
		t.Fatal(err)
	}
	data, err := yaml.Marshal(test)
	if err != nil {
		t.Fatal(err)
	}
	for file, content := range map[string][]byte{"vigil.rules.yaml": rules, "scraped.test.yaml": data} {
		if err := os.WriteFile(filepath.Join(dir, file), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	promtool := filepath.Join(harness.RepoRoot(), "bin", "promtool")
	out, err := exec.Command(promtool, "test", "rules", filepath.Join(dir, "scraped.test.yaml")).CombinedOutput()
	if err != nil {
		t.Errorf("%s: the shipped alerts on the scraped series do not fire as expected %v:\n%s\nscraped series:\n%s", step, want, out, data)
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
