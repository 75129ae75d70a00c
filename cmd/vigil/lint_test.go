package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const seed = "../../test/fixtures/seed"

func lint(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return vigil(stdin, append([]string{"lint"}, args...)...)
}

func role(file string) string {
	return "arn:aws:iam::123456789012:role/payments-eso=" + filepath.Join(seed, file)
}

func TestLint_WildcardRoleExits1AndNamesTheRule(t *testing.T) {
	code, out, _ := lint(t, "", "--aws-role-policy", role("iam-policy-wildcard.json"), seed)
	if code != 1 {
		t.Errorf("exit %d, want 1 (a Deny finding)", code)
	}
	if !strings.Contains(out, "10-secretstore.yaml:1:1: Deny aws-wildcard-secret-resource SecretStore payments/aws-secrets") {
		t.Errorf("output does not name file, line, rule and object:\n%s", out)
	}
}

func TestLint_ScopedRoleExits0(t *testing.T) {
	code, out, errOut := lint(t, "", "--aws-role-policy", role("iam-policy-scoped.json"), seed)
	if code != 0 {
		t.Errorf("exit %d, want 0:\n%s%s", code, out, errOut)
	}
}

func TestLint_JSONShape(t *testing.T) {
	code, out, _ := lint(t, "", "-o", "json", "--aws-role-policy", role("iam-policy-wildcard.json"), seed)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var doc struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out)
	}
	if len(doc.Findings) != 1 {
		t.Fatalf("%d findings, want 1", len(doc.Findings))
	}
	for _, k := range []string{"rule", "action", "kind", "namespace", "name", "file", "line", "message"} {
		if _, ok := doc.Findings[0][k]; !ok {
			t.Errorf("finding lacks %q: %v", k, doc.Findings[0])
		}
	}
}

func TestLint_SARIF(t *testing.T) {
	_, out, _ := lint(t, "", "-o", "sarif", "--aws-role-policy", role("iam-policy-wildcard.json"), seed)
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Version != "2.1.0" || len(doc.Runs) != 1 {
		t.Fatalf("not SARIF 2.1.0: %v\n%s", err, out)
	}
	if r := doc.Runs[0].Results; len(r) != 1 || r[0].RuleID != "aws-wildcard-secret-resource" || r[0].Level != "error" {
		t.Errorf("SARIF results %+v", r)
	}
}

func TestLint_StdinAndCustomPolicy(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeFile(t, pol, []byte(`apiVersion: vigil.dev/v1alpha1
kind: ClusterSecretPolicy
metadata: {name: team}
spec:
  validations:
  - name: needs-team-label
    expression: has(input.object.metadata.labels) && "team" in input.object.metadata.labels
    message: ExternalSecrets need a team label
`))
	manifest := `apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: db, namespace: payments}
spec:
  secretStoreRef: {name: aws-secrets}
  data:
  - secretKey: password
    remoteRef: {key: prod/payments/db}
`
	code, out, _ := lint(t, manifest, "--policy", pol, "-")
	if code != 1 || !strings.Contains(out, "-:1:1: Deny needs-team-label ExternalSecret payments/db") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestLint_BadInputExits2(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	writeFile(t, broken, []byte("apiVersion: v1\nkind: [unclosed\n"))
	badPolicy := filepath.Join(dir, "bad-policy.yaml")
	writeFile(t, badPolicy, []byte("apiVersion: vigil.dev/v1alpha1\nkind: ClusterSecretPolicy\nmetadata: {name: bad}\nspec:\n  validations:\n  - {name: x, expression: 'input.kind ==', message: m}\n"))
	for name, args := range map[string][]string{
		"missing path":          {filepath.Join(dir, "nope")},
		"broken YAML":           {broken},
		"policy does not build": {"--policy", badPolicy, seed},
		"bad role flag":         {"--aws-role-policy", "not-a-role", seed},
		"role flag, not a role": {"--aws-role-policy", "arn:aws:s3:::bucket/x:role/app=" + filepath.Join(seed, "iam-policy-wildcard.json"), seed},
		"bad output":            {"-o", "xml", seed},
		"an object twice":       {seed, seed},
		"no path":               {},
	} {
		code, _, errOut := lint(t, "", args...)
		if code != 2 || errOut == "" || strings.Contains(errOut, "panic") {
			t.Errorf("%s: exit %d (want 2) with message %q", name, code, errOut)
		}
	}
	// The same object twice names both places (it used to crash the in-memory cluster).
	if _, _, errOut := lint(t, "", seed, seed); !strings.Contains(errOut, "00-namespace.yaml:1: Namespace payments is defined again (first at") {
		t.Errorf("an object twice: %q", errOut)
	}
}

// A Vault store over plain http is a Deny finding; a policy that allows the development host
// (parameter allowHTTPHosts) clears it, and only for that host.
func TestLint_PlainHTTPStore(t *testing.T) {
	store := func(url string) string {
		return `apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata: {name: vault, namespace: payments}
spec:
  provider:
    vault:
      server: ` + url + `
      path: secret
      auth: {tokenSecretRef: {name: vault-token, key: token}}
`
	}
	code, out, _ := lint(t, store("http://vault.example:8200"), "-")
	if code != 1 || !strings.Contains(out, "Deny store-plaintext-credentials SecretStore payments/vault") {
		t.Errorf("http store: exit %d, output:\n%s", code, out)
	}
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, pol, []byte(`apiVersion: vigil.dev/v1alpha1
kind: ClusterSecretPolicy
metadata: {name: dev-hosts}
spec:
  rules:
  - id: store-plaintext-credentials
    parameters: {allowHTTPHosts: ["127.0.0.1"]}
`))
	if code, out, _ := lint(t, store("http://127.0.0.1:8200"), "--policy", pol, "-"); code != 0 {
		t.Errorf("allowed dev host: exit %d, output:\n%s", code, out)
	}
	if code, _, _ := lint(t, store("http://vault.example:8200"), "--policy", pol, "-"); code != 1 {
		t.Errorf("another host with the dev policy: exit %d, want 1", code)
	}
	if code, out, _ := lint(t, store("https://vault.example:8200"), "-"); code != 0 {
		t.Errorf("https store: exit %d, output:\n%s", code, out)
	}
}

// writeFile writes a test input file.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
