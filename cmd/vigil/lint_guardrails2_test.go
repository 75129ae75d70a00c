package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// lintJSON lints a manifest from stdin and returns the rules flagged per object name.
func lintJSON(t *testing.T, manifest string, args ...string) map[string][]string {
	t.Helper()
	_, out, errOut := lint(t, manifest, append(append([]string{"-o", "json"}, args...), "-")...)
	var doc struct {
		Findings []struct {
			Rule, Name, Action, Message string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s%s", err, out, errOut)
	}
	got := map[string][]string{}
	for _, f := range doc.Findings {
		got[f.Name] = append(got[f.Name], f.Action+" "+f.Rule)
	}
	return got
}

// ClusterSecretStores as users write them: each condition is judged as the API server
// matches it, through `vigil lint -o json`.
func TestLint_ClusterSecretStoreSelectors(t *testing.T) {
	stores := map[string]string{ // name -> conditions (YAML flow style)
		"names":           `[{namespaces: [payments, billing]}]`,
		"pinned-label":    `[{namespaceSelector: {matchLabels: {team: payments}}}]`,
		"pinned-in":       `[{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [a, b]}]}}]`,
		"prefix-regex":    `[{namespaceRegexes: ["^team-a-.*"]}]`,
		"exists":          `[{namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}}]`,
		"does-not-exist":  `[{namespaceSelector: {matchExpressions: [{key: restricted, operator: DoesNotExist}]}}]`,
		"name-not-in":     `[{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]}}]`,
		"empty-selector":  `[{namespaceSelector: {}}]`,
		"any-regex":       `[{namespaceRegexes: ["[a-z0-9-]*"]}]`,
		"suffix-regex":    `[{namespaceRegexes: ["-prod$"]}]`,
		"alt-regex":       `[{namespaceRegexes: ["^(a|.*)$"]}]`,
		"no-conditions":   `[]`,
		"one-open-of-two": `[{namespaces: [a]}, {namespaceRegexes: [".+"]}]`,
	}
	var manifest []string
	for name, conds := range stores {
		manifest = append(manifest, fmt.Sprintf("apiVersion: external-secrets.io/v1beta1\nkind: ClusterSecretStore\nmetadata: {name: %s}\nspec:\n  conditions: %s\n  provider: {fake: {data: []}}\n", name, conds))
	}
	got := lintJSON(t, strings.Join(manifest, "---\n"))
	for name := range stores {
		flagged := slices.Contains(got[name], "Deny clustersecretstore-unscoped")
		want := !slices.Contains([]string{"names", "pinned-label", "pinned-in", "prefix-regex"}, name)
		if flagged != want {
			t.Errorf("%s: flagged = %v, want %v (findings %v)", name, flagged, want, got[name])
		}
	}
}
