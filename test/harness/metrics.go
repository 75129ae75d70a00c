package harness

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
)

// Families is a scrape of /metrics, by metric family name.
type Families map[string]*dto.MetricFamily

// ScrapeMetrics reads a Prometheus text endpoint (the controller's /metrics) and parses it
// with expfmt, as Prometheus would.
func ScrapeMetrics(ctx context.Context, url string) (Families, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", url, err)
	}
	return families, nil
}

// Value is PromQL's sum(name{labels}) over a scrape: the sum of the gauge, counter or
// untyped series of the family whose labels include every given label with exactly that
// value (name="db" never matches store_name="db"); found is false when no series matches.
// For a histogram or summary it sums the sample counts.
func (f Families) Value(name string, labels map[string]string) (sum float64, found bool) {
	fam, ok := f[name]
	if !ok {
		return 0, false
	}
	for _, m := range fam.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		found = true
		switch {
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Summary != nil:
			sum += float64(m.Summary.GetSampleCount())
		}
	}
	return sum, found
}

// hasLabels is true when the series has every label of want with exactly its value.
func hasLabels(m *dto.Metric, want map[string]string) bool {
	matched := 0
	for _, l := range m.Label {
		v, ok := want[l.GetName()]
		if !ok {
			continue
		}
		if v != l.GetValue() {
			return false
		}
		matched++
	}
	return matched == len(want)
}

// Series returns the labels and values of the gauge and counter series of the family
// whose labels include every given label exactly.
func (f Families) Series(name string, labels map[string]string) []Sample {
	var out []Sample
	fam, ok := f[name]
	if !ok {
		return nil
	}
	for _, m := range fam.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		s := Sample{Name: name, Labels: map[string]string{}}
		for _, l := range m.Label {
			s.Labels[l.GetName()] = l.GetValue()
		}
		switch {
		case m.Gauge != nil:
			s.Value = m.Gauge.GetValue()
		case m.Counter != nil:
			s.Value = m.Counter.GetValue()
		case m.Untyped != nil:
			s.Value = m.Untyped.GetValue()
		default:
			continue
		}
		out = append(out, s)
	}
	return out
}

// Sample is one series of a scrape.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Scrape reads the controller's /metrics (Env.MetricsURL).
func (e *Env) Scrape(ctx context.Context) (Families, error) {
	if e.MetricsURL == "" {
		return nil, fmt.Errorf("this suite serves no /metrics (Env.MetricsURL is empty)")
	}
	return ScrapeMetrics(ctx, e.MetricsURL)
}

// MetricValue reads sum(name{labels}) from the controller's /metrics (see Families.Value).
func (e *Env) MetricValue(ctx context.Context, name string, labels map[string]string) (float64, bool, error) {
	f, err := e.Scrape(ctx)
	if err != nil {
		return 0, false, err
	}
	v, found := f.Value(name, labels)
	return v, found, nil
}

// Scrape reads the controller's /metrics and fails the test when it cannot.
func (t *T) Scrape() Families {
	t.Helper()
	f, err := t.Env.Scrape(t.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// MetricValue reads sum(name{labels}) from the controller's /metrics, 0 when no series
// matches (a counter not yet incremented is absent).
func (t *T) MetricValue(name string, labels map[string]string) float64 {
	t.Helper()
	v, _ := t.Scrape().Value(name, labels)
	return v
}

// APIRequests reads the API server's request counters (apiserver_request_total, through the
// admin credentials), summed by verb and resource as "POST secrets" or "PATCH
// externalsecrets/status". The benchmarks subtract two readings to count what a pass cost.
func (cp *ControlPlane) APIRequests(ctx context.Context) (map[string]float64, error) {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return nil, err
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's /metrics: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing the API server's /metrics: %w", err)
	}
	out := map[string]float64{}
	fam, ok := families["apiserver_request_total"]
	if !ok {
		return out, nil
	}
	for _, m := range fam.Metric {
		var verb, resource, sub string
		for _, l := range m.Label {
			switch l.GetName() {
			case "verb":
				verb = l.GetValue()
			case "resource":
				resource = l.GetValue()
			case "subresource":
				sub = l.GetValue()
			}
		}
		if sub != "" {
			resource += "/" + sub
		}
		out[verb+" "+resource] += m.GetCounter().GetValue()
	}
	return out, nil
}
