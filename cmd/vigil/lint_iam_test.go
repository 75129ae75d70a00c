package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const payments = "arn:aws:iam::123456789012:role/payments-eso"

// lintIAM lints the seed with IAM documents for its role (files written from the given
// JSON; "boundary:" marks a permissions boundary) and returns the exit code and the
// findings as "rule action" strings.
func lintIAM(t *testing.T, extra []string, docs ...string) (int, []string) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"-o", "json"}
	for i, d := range docs {
		flagName := "--aws-role-policy"
		if b, ok := strings.CutPrefix(d, "boundary:"); ok {
			flagName, d = "--aws-role-boundary", b
		}
		f := filepath.Join(dir, "policy"+string(rune('a'+i))+".json")
		if err := os.WriteFile(f, []byte(d), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, flagName, payments+"="+f)
	}
	args = append(append(args, extra...), seed)
	code, out, errOut := lint(t, "", args...)
	var got struct {
		Findings []finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("exit %d, output %q, stderr %q: %v", code, out, errOut, err)
	}
	var rules []string
	for _, f := range got.Findings {
		rules = append(rules, f.Rule+" "+f.Action)
	}
	slices.Sort(rules)
	return code, rules
}

func TestLint_IAMVerdicts(t *testing.T) {
	const sm = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	allow := func(action, res string) string {
		return `{"Effect":"Allow","Action":"` + action + `","Resource":"` + res + `"}`
	}
	doc := func(sts ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(sts, ",") + `]}`
	}
	resource, action := "aws-wildcard-secret-resource", "aws-wildcard-secret-action"
	for _, c := range []struct {
		name string
		docs []string
		code int
		want []string
	}{
		{"scoped", []string{doc(allow("secretsmanager:GetSecretValue", sm+"prod/payments/*"))}, 0, nil},
		{"star", []string{doc(allow("secretsmanager:GetSecretValue", "*"))}, 1, []string{resource + " Deny"}},
		{"every name by its suffix shape", []string{doc(allow("secretsmanager:GetSecretValue", sm+"*-??????"))}, 1, []string{resource + " Deny"}},
		{"a glob that is not every name", []string{doc(allow("secretsmanager:GetSecretValue", sm+"*x*"))}, 0, nil},
		{"Deny subtracts", []string{doc(allow("secretsmanager:GetSecretValue", "*"), `{"Effect":"Deny","Action":"secretsmanager:*","NotResource":"`+sm+`prod/payments/*"}`)}, 0, nil},
		{"Deny in another attached policy", []string{doc(allow("*", "*")), doc(`{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}`)}, 0, nil},
		{"NotResource grant", []string{doc(`{"Effect":"Allow","Action":"ssm:GetParameter","NotResource":"arn:aws:ssm:*:*:parameter/prod/*"}`)}, 1, []string{resource + " Deny"}},
		{"grant under a Condition", []string{doc(`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"payments"}}}`)}, 0, []string{resource + " Warn"}},
		{"every action", []string{doc(allow("secretsmanager:*", "*"))}, 1, []string{action + " Deny", resource + " Deny"}},
		{"boundary caps", []string{doc(allow("*", "*")), "boundary:" + doc(allow("secretsmanager:GetSecretValue", sm+"prod/payments/*"))}, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, got := lintIAM(t, nil, c.docs...)
			if code != c.code || !slices.Equal(got, c.want) {
				t.Errorf("exit %d with %v, want exit %d with %v", code, got, c.code, c.want)
			}
		})
	}
}

func TestLint_UnknownIAM(t *testing.T) {
	// No document for the seed store's role: a namespaced SecretStore is denied by default.
	code, got := lintIAM(t, nil)
	if code != 1 || !slices.Equal(got, []string{"aws-wildcard-secret-resource Deny"}) {
		t.Errorf("unknown IAM of a SecretStore: exit %d with %v, want a Deny", code, got)
	}
	// A ClusterSecretPolicy sets unknownIAM.
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, pol, []byte(`apiVersion: vigil.dev/v1alpha1
kind: ClusterSecretPolicy
metadata: {name: iam}
spec:
  rules:
  - id: aws-wildcard-secret-resource
    parameters: {unknownIAM: Warn}
`))
	code, got = lintIAM(t, []string{"--policy", pol})
	if code != 0 || !slices.Equal(got, []string{"aws-wildcard-secret-resource Warn"}) {
		t.Errorf("unknownIAM: Warn: exit %d with %v, want a Warn", code, got)
	}
}

func TestLint_UnknownIAMOfAClusterStoreWarns(t *testing.T) {
	manifest := `apiVersion: external-secrets.io/v1beta1
kind: ClusterSecretStore
metadata: {name: shared}
spec:
  provider:
    aws: {service: SecretsManager, region: us-east-1, role: "arn:aws:iam::123456789012:role/shared"}
  conditions: [{namespaces: [payments]}]
`
	code, out, _ := lint(t, manifest, "-")
	if code != 0 || !strings.Contains(out, "Warn aws-wildcard-secret-resource ClusterSecretStore shared") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

// A policy file IAM would refuse (MalformedPolicyDocument) is an input error (exit 2) that
// says why, not a document read as granting nothing (or something): names and the Effect
// value are case-sensitive, Action/NotAction and Resource/NotResource exclusive.
func TestLint_IAMDocumentIAMRefuses(t *testing.T) {
	for doc, want := range map[string]string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`:                    `Effect "allow" is not Allow or Deny`,
		`{"Version":"2012-10-17","Statement":[{"effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`:                    `element "effect"`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","NotAction":"s3:*","Resource":"*"}]}`: "both Action and NotAction",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","NotResource":[]}]}`:                  "NotResource is an empty list",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetSecretValue","Resource":"*"}]}`:                                   "not service:action",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`:                             "Principal is not allowed",
		`{"Version":"2012-10-17","Statement":[]}`: "Statement is empty",
		`{"Version":"2012-10-17"}`:                "no Statement",
		`{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"s3:*","Resource":"*"}]}`: `Sid "a" is used twice`,
	} {
		f := filepath.Join(t.TempDir(), "policy.json")
		if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := lint(t, "", "--aws-role-policy", payments+"="+f, seed)
		if code != 2 || !strings.Contains(errOut, "not a policy IAM accepts") || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 naming %q", doc, code, errOut, want)
		}
	}
	// What IAM accepts still reads: Statement as one object, Sid, Id, Condition, 2008-10-17.
	code, got := lintIAM(t, nil, `{"Version":"2008-10-17","Id":"x","Statement":{"Sid":"s","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}`)
	if code != 0 || !slices.Equal(got, []string{"aws-wildcard-secret-resource Warn"}) {
		t.Errorf("a document IAM accepts: exit %d with %v", code, got)
	}
}
