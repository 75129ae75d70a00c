package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	"github.com/vigil-dev/vigil/alerts"
	"github.com/vigil-dev/vigil/metrics"
)

// notSynced is the shipped alert on the not-synced metric.
const notSynced = "VigilExternalSecretNotSynced"

// promtoolTestFile is the unit test the demo writes beside the shipped rule file.
const promtoolTestFile = "not-synced.test.yaml"

// Minutes promtool replays the healthy and healed scrapes; the broken one lasts the rule's
// `for` and brokenExtra more.
const (
	healthyMinutes = 2
	healedMinutes  = 5
	brokenExtra    = 3
)

// States of an alert.
const (
	inactive = "inactive"
	pending  = "pending"
	firing   = "firing"
)

// groupBy are the labels the rule's expression keeps of a series (it also keeps cluster,
// which Prometheus' external labels add; a single scrape has none).
var groupBy = []string{"namespace", "name", "reason"}

// checkpoint is a minute at which the demo asks promtool for the alert's state.
type checkpoint struct {
	minute int
	what   string   // what the replay shows then
	state  string   // inactive, pending, firing
	alerts []string // the expected ALERTS series (promtool's label syntax)
}

// evaluateAlert replays the three scrapes through promtool against the shipped rule and
// prints the alert's state at a few minutes of the replay; promtool checks each state.
func (d *demo) evaluateAlert() error {
	rule, err := alertRule(notSynced)
	if err != nil {
		return err
	}
	forMin, err := forMinutes(rule.For)
	if err != nil {
		return err
	}
	step("The alert: promtool evaluates the shipped "+notSynced+" rule (for: "+rule.For+") on the scraped series",
		fmt.Sprintf("Offline: promtool replays the three scrapes as minutes (healthy %dm, broken %dm, healed %dm) "+
			"and checks each state below.", healthyMinutes, forMin+brokenExtra, healedMinutes))
	points := d.checkpoints(rule, forMin)
	dir, err := d.writePromtoolTest(forMin, points)
	if err != nil {
		return err
	}
	for _, p := range points {
		line := fmt.Sprintf("    minute %2d  %-16s %-8s %s", p.minute, p.what, p.state, strings.Join(p.alerts, " "))
		fmt.Println(strings.TrimRight(line, " "))
	}
	fmt.Println("\n$ promtool test rules " + filepath.Join(dir, promtoolTestFile))
	out, err := d.runPromtool(dir)
	fmt.Print(indent(strings.TrimSpace(out)))
	return err
}

// checkpoints are the minutes at which the replay asks for the alert's state: the end of the
// healthy phase, halfway through `for` and past it while broken, and a while after healing.
func (d *demo) checkpoints(rule alerts.Rule, forMin int) []checkpoint {
	brokenStart := healthyMinutes
	healedStart := brokenStart + forMin + brokenExtra
	points := []checkpoint{{minute: healthyMinutes - 1, what: "healthy", state: inactive}}
	if forMin > 1 {
		points = append(points, checkpoint{minute: brokenStart + forMin/2, state: pending,
			what: fmt.Sprintf("broken for %dm", forMin/2)})
	}
	points = append(points,
		checkpoint{minute: brokenStart + forMin + 2, state: firing, what: fmt.Sprintf("broken for %dm", forMin+2)},
		checkpoint{minute: healedStart + 3, state: inactive, what: "healed for 3m"})
	broken := d.scrapeOf("broken")
	for i, p := range points {
		if p.state == inactive {
			continue
		}
		for _, s := range broken.series {
			if s.Value == 1 && failing(s.Labels["reason"]) {
				points[i].alerts = append(points[i].alerts, alertSeries(rule, p.state, s.Labels))
			}
		}
	}
	return points
}

// failing is what the rule counts as not synced: SecretDeleted is a state the user asked for.
func failing(reason string) bool { return reason != "SecretSynced" && reason != "SecretDeleted" }

// alertSeries is the ALERTS series Prometheus writes for an alert of the rule on a series:
// the labels the rule keeps (groupBy) and the rule's own labels.
func alertSeries(rule alerts.Rule, state string, series map[string]string) string {
	labels := map[string]string{"alertname": rule.Alert, "alertstate": state}
	for _, l := range groupBy {
		labels[l] = series[l]
	}
	maps.Copy(labels, rule.Labels)
	return "ALERTS" + formatLabels(labels)
}

// alertRule finds a shipped alert rule by name.
func alertRule(name string) (alerts.Rule, error) {
	groups, err := alerts.Groups()
	if err != nil {
		return alerts.Rule{}, err
	}
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert == name {
				return r, nil
			}
		}
	}
	return alerts.Rule{}, fmt.Errorf("alert %s is not in the shipped rules", name)
}

// forMinutes is a rule's `for` in whole minutes, rounded up.
func forMinutes(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("the rule's for %q: %w", s, err)
	}
	return int((time.Duration(d) + time.Minute - 1) / time.Minute), nil
}

// runPromtool runs promtool's unit test in dir and returns its output; the error says when
// promtool saw other states than the test expects.
func (d *demo) runPromtool(dir string) (string, error) {
	cmd := exec.Command(filepath.Join(d.root, "bin", "promtool"), "test", "rules", promtoolTestFile)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("promtool does not agree with the states above: %w", err)
	}
	return string(out), nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

// promtool's unit test file (https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/).
type (
	promtoolFile struct {
		RuleFiles          []string        `json:"rule_files"`
		EvaluationInterval string          `json:"evaluation_interval"`
		Tests              []promtoolGroup `json:"tests"`
	}
	promtoolGroup struct {
		Name        string          `json:"name"`
		Interval    string          `json:"interval"`
		InputSeries []promtoolInput `json:"input_series"`
		ExprTests   []promtoolExpr  `json:"promql_expr_test"`
	}
	promtoolInput struct {
		Series string `json:"series"`
		Values string `json:"values"`
	}
	promtoolExpr struct {
		Expr       string           `json:"expr"`
		EvalTime   string           `json:"eval_time"`
		ExpSamples []promtoolSample `json:"exp_samples"`
	}
	promtoolSample struct {
		Labels string  `json:"labels"`
		Value  float64 `json:"value"`
	}
)

// writePromtoolTest writes the shipped rule file and a unit test that replays the scrapes
// and expects the checkpoints' states; it returns their folder.
func (d *demo) writePromtoolTest(forMin int, points []checkpoint) (string, error) {
	dir := filepath.Join(d.workDir, "promtool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	rules, err := alerts.RuleFile()
	if err != nil {
		return "", err
	}
	group := promtoolGroup{Name: "the demo's scrapes", Interval: "1m",
		InputSeries: d.replay([]int{healthyMinutes, forMin + brokenExtra, healedMinutes})}
	for _, p := range points {
		e := promtoolExpr{Expr: fmt.Sprintf("ALERTS{alertname=%q}", notSynced),
			EvalTime: fmt.Sprintf("%dm", p.minute), ExpSamples: []promtoolSample{}}
		for _, a := range p.alerts {
			e.ExpSamples = append(e.ExpSamples, promtoolSample{Labels: a, Value: 1})
		}
		group.ExprTests = append(group.ExprTests, e)
	}
	test, err := yaml.Marshal(promtoolFile{RuleFiles: []string{"vigil.rules.yaml"}, EvaluationInterval: "1m",
		Tests: []promtoolGroup{group}})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "vigil.rules.yaml"), rules, 0o600); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, promtoolTestFile), test, 0o600)
}

// replay turns the scrapes into promtool input series, scrape i lasting minutes[i]: a
// series is present with its value while its scrape has it, gets a stale marker the minute
// it disappears (as Prometheus writes when a target stops exposing it) and is absent after.
func (d *demo) replay(minutes []int) []promtoolInput {
	byLabels := map[string][]string{}
	var order []string
	for i, sc := range d.scrapes {
		for _, s := range sc.series {
			// The job label Prometheus adds when it scrapes a release named vigil, which
			// the shipped rules select.
			labels := map[string]string{"job": alerts.Job}
			maps.Copy(labels, s.Labels)
			id := metrics.Ready + formatLabels(labels)
			if _, ok := byLabels[id]; !ok {
				order = append(order, id)
				byLabels[id] = make([]string, len(d.scrapes))
			}
			byLabels[id][i] = fmt.Sprintf("%g", s.Value)
		}
	}
	var out []promtoolInput
	for _, id := range order {
		var values []string
		for i, v := range byLabels[id] {
			for range minutes[i] {
				values = append(values, v)
			}
		}
		out = append(out, promtoolInput{Series: id, Values: strings.Join(markGaps(values), " ")})
	}
	return out
}

// markGaps writes "stale" for the first missing sample after a present one, "_" for the
// other missing ones.
func markGaps(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		switch {
		case v != "":
			out[i] = v
		case i > 0 && values[i-1] != "":
			out[i] = "stale"
		default:
			out[i] = "_"
		}
	}
	return out
}
