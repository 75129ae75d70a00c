package chart

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vigil-dev/vigil/alerts"
	"github.com/vigil-dev/vigil/test/harness"
)

var tunedValues = filepath.Join("testdata", "alerts", "tuned-values.yaml")

// renderMonitoring renders the chart's PrometheusRule and dashboard ConfigMap for a release
// and returns the rule groups and the dashboard's JSON.
func renderMonitoring(t *testing.T, release string, args ...string) ([]any, string) {
	t.Helper()
	args = append([]string{"template", release, chartDir(), "--namespace", releaseNamespace, "--kube-version", "1.37.2",
		"--show-only", "templates/prometheusrule.yaml", "--show-only", "templates/dashboard.yaml"}, args...)
	var groups []any
	var dashboard string
	for _, u := range decode(t, helm(t, args...)) {
		switch u.GetKind() {
		case "PrometheusRule":
			groups = u.Object["spec"].(map[string]any)["groups"].([]any)
		case "ConfigMap":
			dashboard = u.Object["data"].(map[string]any)["vigil-overview.json"].(string)
		}
	}
	if groups == nil || dashboard == "" {
		t.Fatalf("helm template %v rendered no PrometheusRule or no dashboard", args)
	}
	return groups, dashboard
}

// promtoolTest writes the rendered groups as rules.yaml beside a copy of the promtool test
// file testdata/alerts/<name>.test.yaml and runs promtool's check and test on them.
func promtoolTest(t *testing.T, groups []any, name string) {
	t.Helper()
	dir := t.TempDir()
	rules, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join("testdata", "alerts", name+".test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for file, data := range map[string][]byte{"rules.yaml": rules, "test.yaml": tests} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	promtool := filepath.Join(harness.RepoRoot(), "bin", "promtool")
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s\nrules:\n%s", strings.Join(args, " "), err, out, rules)
		}
	}
}

// dashboardExprs returns every query of the dashboard (panels and variables).
func dashboardExprs(t *testing.T, dashboard string) []string {
	t.Helper()
	var dash struct {
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(dashboard), &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs []string
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok && strings.Contains(q, "(") {
			exprs = append(exprs, q)
		}
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// The rules the chart installs for a release named vigil with default values are exactly the
// ones promtool tests in alerts/ (one source for both).
func TestAlerts_ShippedRulesAreTheChartDefaults(t *testing.T) {
	groups, _ := renderMonitoring(t, "vigil", "--set", "prometheusRule.enabled=true",
		"--set", "grafanaDashboard.enabled=true")
	var shipped struct {
		Spec struct {
			Groups []any `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(alerts.PrometheusRule(), &shipped); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(groups, shipped.Spec.Groups) {
		got, _ := yaml.Marshal(groups)
		want, _ := yaml.Marshal(shipped.Spec.Groups)
		t.Fatalf("the chart's rules differ from alerts/vigil.prometheusrule.yaml (run `make generate`):\n%s",
			lineDiff(string(want), string(got)))
	}
}

// VigilControllerDown and the dashboard find a release whose name does not start with
// "vigil": they select the job of its metrics Service, secrets-vigil-metrics.
func TestAlerts_ReleaseNotNamedVigil(t *testing.T) {
	groups, dashboard := renderMonitoring(t, "secrets", "--set", "prometheusRule.enabled=true",
		"--set", "grafanaDashboard.enabled=true")
	promtoolTest(t, groups, "release-secrets")
	for _, expr := range dashboardExprs(t, dashboard) {
		if !strings.Contains(expr, `job="secrets-vigil-metrics"}`) {
			t.Errorf("dashboard query does not select the release's job: %s", expr)
		}
	}
}

// With the chart's ServiceMonitor (honorLabels off), each object's namespace is in
// exported_namespace: the alerts report it as namespace, and the dashboard filters on it.
func TestAlerts_ServiceMonitorLabels(t *testing.T) {
	groups, dashboard := renderMonitoring(t, "secrets", "--set", "prometheusRule.enabled=true",
		"--set", "grafanaDashboard.enabled=true", "--set", "serviceMonitor.enabled=true")
	promtoolTest(t, groups, "servicemonitor")
	const nsVariable = `"label_values(vigil_externalsecret_ready{job=\"secrets-vigil-metrics\"}, exported_namespace)"`
	if !strings.Contains(dashboard, nsVariable) {
		t.Errorf("the dashboard's namespace variable does not read exported_namespace:\n%s", dashboard)
	}
	for _, expr := range dashboardExprs(t, dashboard) {
		if strings.Contains(expr, "namespace") && !strings.Contains(expr, "exported_namespace") {
			t.Errorf("dashboard query reads namespace, which is the release's here: %s", expr)
		}
	}
}

// With honorLabels on, the series keep their namespace label: the rules and the dashboard
// read it directly, and the release's rules are the shipped ones but for the job.
func TestAlerts_ServiceMonitorHonorLabels(t *testing.T) {
	groups, dashboard := renderMonitoring(t, "secrets", "--set", "prometheusRule.enabled=true",
		"--set", "grafanaDashboard.enabled=true", "--set", "serviceMonitor.enabled=true",
		"--set", "serviceMonitor.honorLabels=true")
	promtoolTest(t, groups, "release-secrets")
	rules, err := yaml.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rules), "exported_namespace") || strings.Contains(dashboard, "exported_namespace") {
		t.Errorf("honorLabels=true keeps the namespace label, but the rules or dashboard read exported_namespace")
	}
}

// Every tuning value reaches the rules (promtool proves when they fire) and the dashboard.
func TestAlerts_TunedValues(t *testing.T) {
	groups, dashboard := renderMonitoring(t, "secrets", "--values", tunedValues)
	promtoolTest(t, groups, "tuned")
	for _, g := range groups {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if name := r.(map[string]any)["alert"]; name == "VigilRolloutFailing" {
				t.Errorf("VigilRolloutFailing is rendered though alerts.VigilRolloutFailing.enabled is false")
			}
		}
		if name := g.(map[string]any)["name"]; name == "vigil.rollouts" {
			t.Errorf("group %s is rendered though its only alert is off", name)
		}
	}
	for _, expr := range dashboardExprs(t, dashboard) {
		if !strings.Contains(expr, `job="kubernetes-service-endpoints", service="secrets-vigil-metrics"}`) {
			t.Errorf("dashboard query does not use prometheusRule.jobSelector: %s", expr)
		}
	}
}

// A mistyped tuning value is refused at install time, naming the value.
func TestAlerts_BadTuningRefused(t *testing.T) {
	bin := filepath.Join(harness.RepoRoot(), "bin", "helm")
	for _, tc := range []struct{ name, values, want string }{
		{"unknown alert", "prometheusRule:\n  alerts:\n    VigilControllerGone:\n      enabled: false\n",
			"VigilControllerGone"},
		{"for that is no duration", "prometheusRule:\n  alerts:\n    VigilControllerDown:\n      for: soon\n",
			"/prometheusRule/alerts/VigilControllerDown/for"},
		{"threshold that is no number", "prometheusRule:\n  alerts:\n    VigilProviderErrorsHigh:\n      threshold: high\n",
			"/prometheusRule/alerts/VigilProviderErrorsHigh/threshold"},
		{"threshold on an alert without one", "prometheusRule:\n  alerts:\n    VigilControllerDown:\n      threshold: 1\n",
			"threshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(bin, "template", "vigil", chartDir(), "--kube-version", "1.37.2",
				"--values", writeValues(t, tc.values)).CombinedOutput()
			if err == nil {
				t.Fatalf("helm template accepted %q", tc.values)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("error does not say %q:\n%s", tc.want, out)
			}
		})
	}
}
