// Package alerts ships Vigil's Prometheus alert rules. The source is a PrometheusRule
// (vigil.prometheusrule.yaml, what the Helm chart installs); RuleFile turns it into the plain
// rule file promtool and Prometheus read, so both are one source.
package alerts

import (
	_ "embed"
	"fmt"

	"sigs.k8s.io/yaml"
)

//go:embed vigil.prometheusrule.yaml
var prometheusRule []byte

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
func RuleFile() ([]byte, error) {
	groups, err := Groups()
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(map[string][]Group{"groups": groups})
}
