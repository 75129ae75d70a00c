package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// pushCorpus is a tenant namespace with prefixes and PushSecrets that write inside and
// outside them, by name and through a labelSelector.
const pushCorpus = `apiVersion: v1
kind: Namespace
metadata:
  name: payments
  annotations: {vigil.dev/secret-prefix: prod/payments/}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: push-outside, namespace: payments}
spec:
  secretStoreRefs: [{name: sm, kind: SecretStore}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: prod/payments/db}}
  - match: {secretKey: password, remoteRef: {remoteKey: prod/billing/db}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: push-escape, namespace: payments}
spec:
  secretStoreRefs: [{labelSelector: {matchLabels: {push: "yes"}}}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: prod/payments/../../billing/db}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: push-ok, namespace: payments}
spec:
  secretStoreRefs: [{name: sm}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: prod/payments/db}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: sm, namespace: payments}
spec:
  provider:
    aws: {service: SecretsManager, region: us-east-1, auth: {jwt: {serviceAccountRef: {name: eso}}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault, namespace: payments, labels: {push: "yes"}}
spec:
  provider:
    vault:
      server: https://vault.example:8200
      path: secret
      version: v2
      auth: {tokenSecretRef: {name: vault, key: token}}
`

func TestLint_PushSecretKeysAreJudged(t *testing.T) {
	code, out, errOut := lint(t, pushCorpus, "-o", "json", "-")
	if code != 1 {
		t.Errorf("exit %d, want 1 (Deny findings): %s", code, errOut)
	}
	var doc struct {
		Findings []finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out)
	}
	var got []string
	for _, f := range doc.Findings {
		if f.Kind == "PushSecret" {
			got = append(got, f.Name+" "+f.Action+" "+f.Rule+" "+f.Path)
		}
	}
	slices.Sort(got)
	want := []string{
		"push-escape Deny pushsecret-key-not-normalized spec.data[0].match.remoteRef.remoteKey",
		"push-escape Deny pushsecret-key-outside-prefix spec.data[0].match.remoteRef.remoteKey",
		"push-outside Deny pushsecret-key-outside-prefix spec.data[1].match.remoteRef.remoteKey",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n%s\nwant\n%s\nfull output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
	for _, f := range doc.Findings {
		if f.Name == "push-escape" && f.Rule == "pushsecret-key-outside-prefix" && !strings.Contains(f.Message, `"secret/billing/db",`) {
			t.Errorf("the prefix finding does not name the path Vault would write: %s", f.Message)
		}
		if f.Name == "push-outside" && f.Line != 15 {
			t.Errorf("the finding is at line %d, want 15 (the remoteKey written outside): %+v", f.Line, f)
		}
	}
}
