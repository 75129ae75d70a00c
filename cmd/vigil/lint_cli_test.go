package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	positions = "testdata/positions"
	helmDir   = "testdata/helm"
)

// Flags may follow the paths, as with kubectl and helm (`vigil lint dir -o sarif` used to
// exit 2).
func TestLint_FlagsAfterPaths(t *testing.T) {
	code, out, errOut := lint(t, "", positions, "-o", "sarif", "--fail-on", "warn")
	if code != 1 || !strings.Contains(out, `"version": "2.1.0"`) {
		t.Errorf("vigil lint %s -o sarif: exit %d, stderr %q; want SARIF and exit 1", positions, code, errOut)
	}
}

// Each finding points at the field its rule names: line and column, in text, JSON and SARIF.
func TestLint_LineAndColumnOfTheField(t *testing.T) {
	file := filepath.Join(positions, "externalsecret.yaml")
	_, out, _ := lint(t, "", positions)
	for _, want := range []string{
		file + ":14:5: Deny externalsecret-find-without-path ExternalSecret team-a/app",
		file + ":8:3: Warn externalsecret-refresh-interval ExternalSecret team-a/app",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = lint(t, "", "-o", "sarif", positions)
	var sarif struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						Region map[string]int `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int{}
	for _, r := range sarif.Runs[0].Results {
		got[r.RuleID] = r.Locations[0].PhysicalLocation.Region
	}
	want := map[string]map[string]int{
		"externalsecret-find-without-path": {"startLine": 14, "startColumn": 5},
		"externalsecret-refresh-interval":  {"startLine": 8, "startColumn": 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SARIF regions %v, want %v", got, want)
	}
}

func TestLint_FailOn(t *testing.T) {
	warnOnly := filepath.Join(helmDir, "plain.yaml") // one Warn finding
	for failOn, code := range map[string]int{"": 0, "deny": 0, "warn": 1, "audit": 1} {
		args := []string{warnOnly}
		if failOn != "" {
			args = append(args, "--fail-on", failOn)
		}
		if got, out, errOut := lint(t, "", args...); got != code {
			t.Errorf("--fail-on %q on a Warn finding: exit %d, want %d\n%s%s", failOn, got, code, out, errOut)
		}
	}
	if code, _, errOut := lint(t, "", warnOnly, "--fail-on", "info"); code != 2 || !strings.Contains(errOut, "deny, warn or audit") {
		t.Errorf("--fail-on info: exit %d, %q; want 2 and the accepted values", code, errOut)
	}
}

// A folder with Helm templates beside plain manifests: the templates are skipped with a
// notice that says how to lint them, the manifests are linted.
func TestLint_HelmTemplatesAreSkippedWithANotice(t *testing.T) {
	code, out, errOut := lint(t, "", helmDir)
	if code != 0 {
		t.Errorf("exit %d, want 0 (the plain manifest has a Warn only):\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "plain.yaml:8:3: Warn externalsecret-refresh-interval") {
		t.Errorf("the plain manifest was not linted:\n%s", out)
	}
	for _, want := range []string{
		"skipped " + filepath.Join(helmDir, "app", "templates", "externalsecret.yaml") + ": it is a Helm template; pass --helm-chart " + filepath.Join(helmDir, "app"),
		"skipped " + filepath.Join(helmDir, "loose.yaml") + ": it is a Helm template",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// --helm-chart renders the chart with helm template and lints the result, each finding
// attributed to its template file.
func TestLint_HelmChartIsRendered(t *testing.T) {
	helm, err := filepath.Abs("../../bin/helm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(helm); err != nil {
		t.Skip("bin/helm is missing: run ./hack/test-assets.sh")
	}
	chart := filepath.Join(helmDir, "app")
	code, out, errOut := lint(t, "", helmDir, "--helm-chart", chart, "--helm", helm)
	if code != 1 {
		t.Errorf("exit %d, want 1 (the rendered ExternalSecret has a Deny finding):\n%s%s", code, out, errOut)
	}
	want := filepath.Join(chart, "templates", "externalsecret.yaml") + ":10:5: (rendered by helm template) Deny externalsecret-find-without-path ExternalSecret team-a/app"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(errOut, "skipped "+filepath.Join(chart, "templates")) {
		t.Errorf("a rendered chart's templates are still reported as skipped:\n%s", errOut)
	}
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("name: from-values\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, out, _ := lint(t, "", "--helm-chart", chart, "--helm-values", values, "--helm", helm); !strings.Contains(out, "ExternalSecret team-a/from-values") {
		t.Errorf("--helm-values was not passed to helm template:\n%s", out)
	}
	if code, _, errOut := lint(t, "", "--helm-chart", chart, "--helm", filepath.Join(t.TempDir(), "no-helm")); code != 2 || !strings.Contains(errOut, "needs helm") {
		t.Errorf("without helm: exit %d, %q; want 2 and a message that names helm", code, errOut)
	}
}

func TestSplitPath(t *testing.T) {
	for path, want := range map[string][]string{
		"spec.dataFrom[0].find":                   {"spec", "dataFrom", "0", "find"},
		`spec.target.template.data["tls.crt"]`:    {"spec", "target", "template", "data", "tls.crt"},
		"spec.conditions[1].namespaceRegexes[0]":  {"spec", "conditions", "1", "namespaceRegexes", "0"},
		"iam:policy.json/Statement[0]":            nil,
		"":                                        nil,
		`spec.target.template.data["a\"]b"].more`: {"spec", "target", "template", "data", `a"]b`, "more"},
	} {
		if got := splitPath(path); !reflect.DeepEqual(got, want) {
			t.Errorf("splitPath(%q) = %q, want %q", path, got, want)
		}
	}
}

// A broken manifest is an error even when its quoted strings hold {{ }} (an ExternalSecret's
// template): only unquoted template actions make a file a Helm template.
func TestLint_BrokenManifestWithTemplateStringsIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "es.yaml")
	broken := "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: db\n" +
		"spec:\n  target:\n    template:\n      data: {dsn: \"{{ .user }}\"}\n"
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := lint(t, "", file); code != 2 || !strings.Contains(errOut, "not valid YAML") {
		t.Errorf("exit %d, %q; want 2 and the YAML error", code, errOut)
	}
}
