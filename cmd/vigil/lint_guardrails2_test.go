package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
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

// Namespaced stores and generators without credentials of their own are denied unless the
// admin allows their namespace; a ClusterSecretStore is only warned about.
func TestLint_AmbientCredentials(t *testing.T) {
	manifest := `apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata: {name: ambient, namespace: team-a}
spec:
  provider: {aws: {service: SecretsManager, region: us-east-1}}
---
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata: {name: ambient-role, namespace: team-a}
spec:
  provider: {aws: {service: SecretsManager, region: us-east-1, role: "arn:aws:iam::123456789012:role/x"}}
---
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata: {name: irsa, namespace: team-a}
spec:
  provider: {aws: {service: SecretsManager, region: us-east-1, auth: {jwt: {serviceAccountRef: {name: sa}}}}}
---
apiVersion: external-secrets.io/v1beta1
kind: ClusterSecretStore
metadata: {name: admin-ambient}
spec:
  conditions: [{namespaces: [team-a]}]
  provider: {aws: {service: SecretsManager, region: us-east-1}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: ECRAuthorizationToken
metadata: {name: ecr, namespace: team-a}
spec: {region: us-east-1}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: ECRAuthorizationToken
metadata: {name: ecr-irsa, namespace: team-a}
spec: {region: us-east-1, auth: {jwt: {serviceAccountRef: {name: sa}}}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: VaultDynamicSecret
metadata: {name: vault-ambient, namespace: team-a}
spec: {path: database/creds/app, provider: {server: "https://vault.example:8200", auth: {kubernetes: {role: app}}}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: pw, namespace: team-a}
spec: {length: 24}
`
	got := lintJSON(t, manifest)
	want := map[string]string{"ambient": "Deny", "ambient-role": "Deny", "admin-ambient": "Warn", "ecr": "Deny", "vault-ambient": "Deny"}
	for _, name := range []string{"ambient", "ambient-role", "irsa", "admin-ambient", "ecr", "ecr-irsa", "vault-ambient", "pw"} {
		var action string
		for _, f := range got[name] {
			if strings.HasSuffix(f, " store-ambient-credentials") {
				action = strings.Fields(f)[0]
			}
		}
		if action != want[name] {
			t.Errorf("%s: store-ambient-credentials %q, want %q (findings %v)", name, action, want[name], got[name])
		}
	}

	dir := t.TempDir()
	pol := filepath.Join(dir, "allow.yaml")
	writeFile(t, pol, []byte("apiVersion: vigil.dev/v1alpha1\nkind: ClusterSecretPolicy\nmetadata: {name: allow}\nspec:\n  rules:\n  - id: store-ambient-credentials\n    parameters: {allowNamespaces: [\"team-*\"]}\n"))
	got = lintJSON(t, manifest, "--policy", pol)
	for _, name := range []string{"ambient", "ecr"} {
		if slices.ContainsFunc(got[name], func(f string) bool { return strings.HasSuffix(f, "store-ambient-credentials") }) {
			t.Errorf("%s: still flagged in an allowed namespace: %v", name, got[name])
		}
	}
}
