package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// pathCorpus is a tenant namespace with prefixes, stores of every kind and ExternalSecrets
// that try to read outside the prefix through path tricks, sourceRefs and ARNs. The
// ExternalSecrets come first: lint resolves stores from every document, in any order.
const pathCorpus = `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: vault-escape, namespace: payments}
spec:
  secretStoreRef: {name: vault-kv2}
  data:
  - secretKey: db
    remoteRef: {key: prod/payments/../../billing/db}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: vault-v1-token, namespace: payments}
spec:
  secretStoreRef: {name: vault-kv1}
  data:
  - secretKey: t
    remoteRef: {key: x/../../auth/token/lookup-self}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: vault-ok, namespace: payments}
spec:
  secretStoreRef: {name: vault-kv2}
  data:
  - secretKey: db
    remoteRef: {key: prod/payments/db}
  - secretKey: db2
    remoteRef: {key: secret/prod/payments/db2}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: arn-inside, namespace: payments}
spec:
  secretStoreRef: {name: sm}
  data:
  - secretKey: db
    remoteRef: {key: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-AbCdEf"}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: arn-outside, namespace: payments}
spec:
  secretStoreRef: {name: sm}
  data:
  - secretKey: db
    remoteRef: {key: "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/db-AbCdEf"}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: sourceref-outside, namespace: payments}
spec:
  secretStoreRef: {name: sm}
  data:
  - secretKey: db
    remoteRef: {key: prod/payments/db}
  - secretKey: other
    remoteRef: {key: prod/payments/db}
    sourceRef: {storeRef: {name: sm-billing}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: find-empty, namespace: payments}
spec:
  secretStoreRef: {name: sm}
  dataFrom:
  - find: {path: ""}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: boundary, namespace: payments}
spec:
  secretStoreRef: {name: sm}
  data:
  - secretKey: db
    remoteRef: {key: prod/paymentsx/db}
---
apiVersion: v1
kind: Namespace
metadata:
  name: payments
  annotations: {vigil.dev/secret-prefix: prod/payments/}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault-kv2, namespace: payments}
spec:
  provider:
    vault:
      server: https://vault.example:8200
      path: secret
      version: v2
      auth: {tokenSecretRef: {name: vault, key: token}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault-kv1, namespace: payments}
spec:
  provider:
    vault:
      server: https://vault.example:8200
      path: kv
      version: v1
      auth: {tokenSecretRef: {name: vault, key: token}}
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
metadata: {name: sm-billing, namespace: payments}
spec:
  provider:
    aws: {service: SecretsManager, region: us-east-1, prefix: billing/, auth: {jwt: {serviceAccountRef: {name: eso}}}}
`

func TestLint_PathsAreJudgedAsTheBackendReadsThem(t *testing.T) {
	code, out, errOut := lint(t, pathCorpus, "-o", "json", "-")
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
		if f.Kind == "ExternalSecret" && strings.HasPrefix(f.Rule, "externalsecret-") && f.Rule != "externalsecret-refresh-interval" {
			got = append(got, f.Name+" "+f.Action+" "+f.Rule)
		}
	}
	slices.Sort(got)
	want := []string{
		"arn-outside Deny externalsecret-key-outside-prefix",
		"boundary Deny externalsecret-key-outside-prefix",
		"find-empty Deny externalsecret-find-without-path",
		"find-empty Deny externalsecret-key-outside-prefix",
		"sourceref-outside Deny externalsecret-key-outside-prefix",
		"vault-escape Deny externalsecret-key-not-normalized",
		"vault-escape Deny externalsecret-key-outside-prefix",
		"vault-v1-token Deny externalsecret-key-not-normalized",
		"vault-v1-token Deny externalsecret-key-outside-prefix",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n%s\nwant\n%s\nfull output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
	for _, f := range doc.Findings {
		if f.Name == "vault-v1-token" && f.Rule == "externalsecret-key-outside-prefix" && !strings.Contains(f.Message, `"auth/token/lookup-self"`) {
			t.Errorf("the prefix finding does not name the path Vault would read: %s", f.Message)
		}
		if f.Name == "sourceref-outside" && !strings.Contains(f.Message, "SecretStore/sm-billing") {
			t.Errorf("the sourceRef finding does not name the store it reads through: %s", f.Message)
		}
	}
}
