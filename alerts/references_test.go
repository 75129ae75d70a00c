package alerts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/metrics"
)

// Alerts and the dashboard query only series Vigil exports (or Prometheus and
// controller-runtime provide): no invented names.
func TestAlertsAndDashboard_ReferenceOnlyExportedMetrics(t *testing.T) {
	known := append(metrics.Names(), "up", "controller_runtime_webhook_latency_seconds", "ALERTS")
	ident := regexp.MustCompile(`\b(vigil_[a-z_]+|externalsecret_[a-z_]+|secretstore_[a-z_]+|` +
		`clustersecretstore_[a-z_]+|controller_runtime_[a-z_]+|up)\b[{\[(]?`)
	check := func(where, expr string) {
		for _, m := range ident.FindAllStringSubmatch(expr, -1) {
			name := m[1]
			if slices.Contains(known, name) {
				continue
			}
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if !slices.Contains(known, base) {
				t.Errorf("%s queries %s, which Vigil does not export", where, name)
			}
		}
	}
	groups, err := Groups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		for _, r := range g.Rules {
			check("alert "+r.Alert, r.Expr)
		}
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(), "charts", "vigil", "dashboards", "vigil-overview.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("dashboard has no panels")
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			check("dashboard panel "+p.Title, tg.Expr)
		}
	}
}
