// Package alerts ships Vigil's Prometheus alert rules as `make generate` renders them from
// alerts/mixin with the chart's default tuning, for a release named vigil: a PrometheusRule
// (vigil.prometheusrule.yaml) and the same groups as a plain rule file (vigil.rules.yaml),
// which promtool tests. The chart renders the same rules from its values.
package alerts

import (
	_ "embed"
	"fmt"

	"sigs.k8s.io/yaml"
)

//go:embed vigil.prometheusrule.yaml
var prometheusRule []byte

//go:embed vigil.rules.yaml
var ruleFile []byte

// Job is the job label the shipped rules select (the metrics Service of a release named
// vigil, as the chart's ServiceMonitor scrapes it): series fed to the rules carry it.
const Job = "vigil-metrics"

// PrometheusRule returns the PrometheusRule manifest.
func PrometheusRule() []byte { return prometheusRule }

// Rule is one rule of a group.
type Rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Group is a rule group.
type Group struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Groups returns the rule groups of the PrometheusRule.
func Groups() ([]Group, error) {
	var pr struct {
		Kind string `json:"kind"`
		Spec struct {
			Groups []Group `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(prometheusRule, &pr); err != nil {
		return nil, fmt.Errorf("vigil.prometheusrule.yaml: %w", err)
	}
	if pr.Kind != "PrometheusRule" || len(pr.Spec.Groups) == 0 {
		return nil, fmt.Errorf("vigil.prometheusrule.yaml is not a PrometheusRule with groups")
	}
	return pr.Spec.Groups, nil
}

// RuleFile returns the rule groups as a Prometheus rule file.
func RuleFile() ([]byte, error) { return ruleFile, nil }
