package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/alerts/mixin"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// promtool returns bin/promtool, which `make test-assets` builds from Go modules.
func promtool(t *testing.T) string {
	bin := filepath.Join(repoRoot(), "bin", "promtool")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s not found: run `make test-assets` (it builds promtool from the Prometheus module)", bin)
	}
	return bin
}

const testFile = "tests/vigil.rules.test.yaml"

func TestPromtool_CheckRules(t *testing.T) {
	out, err := exec.Command(promtool(t), "check", "rules", "vigil.rules.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// The test file names ../vigil.rules.yaml, the generated file itself.
func TestPromtool_UnitTests(t *testing.T) {
	out, err := exec.Command(promtool(t), "test", "rules", testFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// The shipped files select the job Job names, which is what the chart's default selector
// gives a release named vigil.
func TestRules_SelectTheDefaultReleasesJob(t *testing.T) {
	if got, want := mixin.JobSelectorFor("vigil"), `job="`+Job+`"`; got != want {
		t.Fatalf("mixin.JobSelectorFor(vigil) = %s, alerts.Job says %s", got, want)
	}
	if !strings.Contains(string(ruleFile), `up{job="`+Job+`"} == 1`) {
		t.Errorf("vigil.rules.yaml: VigilControllerDown does not select job %q; run `make generate`", Job)
	}
}

// Every alert follows the mixin conventions, has a runbook, and has a promtool test in
// which it fires (exp_alerts not empty) and one evaluation where it does not.
func TestAlerts_FollowConventions(t *testing.T) {
	groups, err := Groups()
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(testFile)
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^Vigil[A-Z][A-Za-z]+$`)
	seen := 0
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			seen++
			if !name.MatchString(r.Alert) {
				t.Errorf("%s: not CamelCase with the Vigil prefix", r.Alert)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			runbook := strings.TrimPrefix(r.Annotations["runbook_url"], "https://github.com/vigil-dev/vigil/blob/main/")
			if _, err := os.Stat(filepath.Join(repoRoot(), runbook)); err != nil {
				t.Errorf("%s: runbook %s does not exist", r.Alert, runbook)
			}
			if !strings.Contains(string(tests), "alertname: "+r.Alert+"\n") {
				t.Errorf("%s: no promtool test", r.Alert)
			}
		}
	}
	if seen < 8 {
		t.Errorf("only %d alerts found", seen)
	}
}
