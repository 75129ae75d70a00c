package main

import (
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/alerts"
	"github.com/vigil-dev/vigil/test/harness"
)

// readySeries is a vigil_externalsecret_ready series of db-credentials, as scraped.
func readySeries(reason string) harness.Sample {
	return harness.Sample{Labels: map[string]string{"namespace": namespace, "name": dbSecret, "reason": reason}, Value: 1}
}

// demoScrapes are the three scrapes of a demo run: synced, failing, synced again.
func demoScrapes() []scrape {
	return []scrape{
		{phase: "healthy", series: []harness.Sample{readySeries("SecretSynced")}},
		{phase: "broken", series: []harness.Sample{readySeries("SecretSyncedError")}},
		{phase: "healed", series: []harness.Sample{readySeries("SecretSynced")}},
	}
}

// A series that leaves a scrape gets a stale marker, as Prometheus writes one; without it
// the series would linger five minutes in promtool's replay and the alert would stay.
func TestReplay_MarksASeriesStaleWhenItLeavesAScrape(t *testing.T) {
	d := &demo{scrapes: demoScrapes()}
	got := map[string]string{}
	for _, in := range d.replay([]int{2, 3, 2}) {
		if !strings.Contains(in.Series, `job="`+alerts.Job+`"`) {
			t.Errorf("series %s lacks the job the shipped rules select (%s)", in.Series, alerts.Job)
		}
		got[in.Series[strings.Index(in.Series, "reason="):]] = in.Values
	}
	want := map[string]string{
		`reason="SecretSynced"}`:      "1 1 stale _ _ 1 1",
		`reason="SecretSyncedError"}`: "_ _ 1 1 1 stale _",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("values of the series with %s: got %q, want %q", k, got[k], v)
		}
	}
}

// The states the demo prints are the ones promtool computes from the shipped rule, and
// promtool refuses a wrong one: the check can fail.
func TestPromtool_ChecksThePrintedStates(t *testing.T) {
	rule, err := alertRule(notSynced)
	if err != nil {
		t.Fatal(err)
	}
	forMin, err := forMinutes(rule.For)
	if err != nil {
		t.Fatal(err)
	}
	d := &demo{root: harness.RepoRoot(), workDir: t.TempDir(), scrapes: demoScrapes()}
	points := d.checkpoints(rule, forMin)
	states := make([]string, len(points))
	for i, p := range points {
		states[i] = p.state
	}
	if got := strings.Join(states, " "); got != "inactive pending firing inactive" {
		t.Fatalf("checkpoint states: %s", got)
	}
	dir, err := d.writePromtoolTest(forMin, points)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := d.runPromtool(dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	// Claim the alert fires while it is still pending.
	broken := readySeries("SecretSyncedError").Labels
	points[1].state, points[1].alerts = firing, []string{alertSeries(rule, firing, broken)}
	if dir, err = d.writePromtoolTest(forMin, points); err != nil {
		t.Fatal(err)
	}
	if out, err := d.runPromtool(dir); err == nil {
		t.Fatalf("promtool accepted a firing alert before the rule's for (%dm):\n%s", forMin, out)
	}
}

func TestRotatePassword_MovesTheCounterAndKeepsTheOtherFields(t *testing.T) {
	got, err := rotatePassword(`{"username": "payments_app", "password": "s3cr3t-rotated-0001", "port": "5432"}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"password":"s3cr3t-rotated-0002","port":"5432","username":"payments_app"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := rotatePassword("not json"); err == nil {
		t.Error("a value that is not a JSON object was rotated")
	}
}
