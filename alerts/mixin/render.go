package mixin

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// Config is the mixin's configuration: the prometheusRule section of charts/vigil/values.yaml
// (the chart reads the same keys at install time).
type Config struct {
	// JobSelector holds the PromQL matchers that pick Vigil's own series; empty means the
	// job the chart's ServiceMonitor scrapes ("<fullname>-metrics").
	JobSelector    string            `json:"jobSelector"`
	ClusterLabel   string            `json:"clusterLabel"`
	RunbookURLBase string            `json:"runbookURLBase"`
	ExtraLabels    map[string]string `json:"extraLabels"`
	// NamespaceLabel is the label that holds an object's namespace; empty means namespace.
	NamespaceLabel string                 `json:"namespaceLabel"`
	Alerts         map[string]AlertConfig `json:"alerts"`
}

// AlertConfig tunes one alert.
type AlertConfig struct {
	Enabled   bool     `json:"enabled"`
	For       string   `json:"for"`
	Severity  string   `json:"severity"`
	Threshold *float64 `json:"threshold,omitempty"`
}

// JobSelectorFor returns the matchers of the job that the chart's ServiceMonitor gives the
// metrics Service of a release whose full name is fullname (the chart's
// "vigil.alerts.jobSelector" helper says the same).
func JobSelectorFor(fullname string) string { return fmt.Sprintf("job=%q", fullname+"-metrics") }

// Check refuses a configuration that does not tune exactly the alerts of Rules.
func (c Config) Check() error {
	for _, r := range Rules {
		a, ok := c.Alerts[r.Alert]
		switch {
		case !ok:
			return fmt.Errorf("alerts.%s is missing", r.Alert)
		case a.Severity == "":
			return fmt.Errorf("alerts.%s.severity is empty", r.Alert)
		case r.Threshold != (a.Threshold != nil):
			return fmt.Errorf("alerts.%s: threshold given %v, want %v", r.Alert, a.Threshold != nil, r.Threshold)
		}
	}
	if len(c.Alerts) != len(Rules) {
		return fmt.Errorf("alerts: %d entries for %d rules (an alert that does not exist?)", len(c.Alerts), len(Rules))
	}
	return nil
}

// PromRule is one rule of a Prometheus rule group.
type PromRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// PromGroup is a Prometheus rule group.
type PromGroup struct {
	Name  string     `json:"name"`
	Rules []PromRule `json:"rules"`
}

// vars are the values of the placeholders.
type vars struct{ Sel, By, Threshold, For, NS, NsOpen, NsClose string }

// Groups renders the enabled rules with c's values, grouped in the order of Rules.
func (c Config) Groups() ([]PromGroup, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if c.JobSelector == "" {
		return nil, fmt.Errorf("jobSelector is empty")
	}
	var groups []PromGroup
	for _, r := range Rules {
		a := c.Alerts[r.Alert]
		if !a.Enabled {
			continue
		}
		rule, err := c.render(r, a)
		if err != nil {
			return nil, err
		}
		if len(groups) == 0 || groups[len(groups)-1].Name != r.Group {
			groups = append(groups, PromGroup{Name: r.Group})
		}
		g := &groups[len(groups)-1]
		g.Rules = append(g.Rules, rule)
	}
	return groups, nil
}

func (c Config) render(r Rule, a AlertConfig) (PromRule, error) {
	v := vars{Sel: c.JobSelector, By: byPrefix(c.ClusterLabel), For: a.For}
	if ns := c.NamespaceLabel; ns != "" && ns != "namespace" {
		v.NsOpen, v.NsClose = "label_replace(", `, "namespace", "$1", `+strconv.Quote(ns)+`, "(.+)")`
	}
	if a.Threshold != nil {
		v.Threshold = strconv.FormatFloat(*a.Threshold, 'g', -1, 64)
	}
	expr, err := fill(r.Alert, r.Expr, v)
	if err != nil {
		return PromRule{}, err
	}
	desc, err := fill(r.Alert, r.Description, v)
	if err != nil {
		return PromRule{}, err
	}
	labels := map[string]string{}
	for k, val := range c.ExtraLabels {
		labels[k] = val
	}
	labels["severity"] = a.Severity
	return PromRule{
		Alert:  r.Alert,
		Expr:   expr,
		For:    a.For,
		Labels: labels,
		Annotations: map[string]string{
			"summary":     r.Summary,
			"description": fold(desc),
			"runbook_url": c.RunbookURLBase + r.Alert + ".md",
		},
	}, nil
}

// byPrefix is what [[.By]] stands for: the cluster label first in every aggregation, so that
// series of different clusters (one Prometheus or Thanos for many) never add up.
func byPrefix(clusterLabel string) string {
	if clusterLabel == "" {
		return ""
	}
	return clusterLabel + ", "
}

// fill executes a text's [[ ]] placeholders.
func fill(name, text string, v vars) (string, error) {
	t, err := template.New(name).Delims("[[", "]]").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return b.String(), nil
}

// fold joins the lines of a description as YAML's >- does.
func fold(s string) string { return strings.Join(strings.Split(s, "\n"), " ") }

// groupNames returns the groups of Rules in order.
func groupNames() []string {
	var names []string
	for _, r := range Rules {
		if !slices.Contains(names, r.Group) {
			names = append(names, r.Group)
		}
	}
	return names
}
