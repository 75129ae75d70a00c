package mixin

import (
	"strings"
	"testing"
)

func defaults() Config {
	f := func(v float64) *float64 { return &v }
	c := Config{JobSelector: `job="x"`, Alerts: map[string]AlertConfig{}}
	for _, r := range Rules {
		a := AlertConfig{Enabled: true, Severity: "warning"}
		if r.Threshold {
			a.Threshold = f(1)
		}
		c.Alerts[r.Alert] = a
	}
	return c
}

// A configuration that misses an alert, names one that does not exist, or gives a threshold
// to an alert without one is refused by the generator, naming the alert.
func TestCheck_RefusesIncompleteTuning(t *testing.T) {
	missing := defaults()
	delete(missing.Alerts, "VigilControllerDown")
	extra := defaults()
	extra.Alerts["VigilGone"] = AlertConfig{Enabled: true, Severity: "warning"}
	threshold := defaults()
	one := 1.0
	threshold.Alerts["VigilControllerDown"] = AlertConfig{Enabled: true, Severity: "warning", Threshold: &one}
	for name, c := range map[string]Config{"missing": missing, "extra": extra, "threshold": threshold} {
		if err := c.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := defaults().Check(); err != nil {
		t.Fatal(err)
	}
}

// Disabled alerts are left out, and so is a group whose alerts are all off.
func TestGroups_LeaveOutDisabled(t *testing.T) {
	c := defaults()
	c.Alerts["VigilRolloutFailing"] = AlertConfig{Severity: "warning"}
	groups, err := c.Groups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Name == "vigil.rollouts" {
			t.Errorf("group vigil.rollouts rendered with its only alert off: %+v", g)
		}
	}
}

// Prometheus' own template actions reach the chart as Helm string literals.
func TestEscapeActions(t *testing.T) {
	got, err := escapeActions("Store {{ with $labels.namespace }}{{ . }}/{{ end }}x")
	if err != nil {
		t.Fatal(err)
	}
	want := "Store {{`{{ with $labels.namespace }}`}}{{`{{ . }}`}}/{{`{{ end }}`}}x"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if _, err := escapeActions("a `b`"); err == nil || !strings.Contains(err.Error(), "backquote") {
		t.Fatalf("a backquote was accepted: %v", err)
	}
}
