package policy

import (
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// iamActionMatches is IAM's documented reading of an action pattern, as the reference the
// Rego library must agree with: case-insensitive, "*" any run of characters, "?" one
// character, everything else literal.
func iamActionMatches(pattern, action string) bool {
	p, a := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(action))
	// Classic wildcard matching with backtracking on the last "*".
	pi, ai, star, mark := 0, 0, -1, 0
	for ai < len(a) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ai
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == a[ai]):
			pi++
			ai++
		case star >= 0:
			pi = star + 1
			mark++
			ai = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func libQuery(t testing.TB, query string) rego.PreparedEvalQuery {
	t.Helper()
	src, err := fs.ReadFile(regoLibrary(), "lib.rego")
	if err != nil {
		t.Fatal(err)
	}
	q, err := rego.New(rego.Query(query), rego.Module("lib.rego", string(src))).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// FuzzActionMatches compares the evaluator's actionMatches (policy/iameval.go), which the IAM
// rules rely on, and the Rego library's action_matches (for custom rules) with IAM's
// wildcard semantics for arbitrary patterns: a pattern read wrongly is a missed wildcard
// grant (or a false alarm).
func FuzzActionMatches(f *testing.F) {
	for _, s := range [][2]string{
		{"secretsmanager:*", "secretsmanager:GetSecretValue"},
		{"secretsmanager:Get*", "secretsmanager:GetSecretValue"},
		{"*", "ssm:GetParameter"},
		{"ssm:GetParameter?", "ssm:GetParameters"},
		{"secretsmanager:Get|x", "secretsmanager:GetSecretValue"},
		{"secretsmanager:GetSecret.alue", "secretsmanager:GetSecretValue"},
		{"secretsmanager:[G]etSecretValue", "secretsmanager:GetSecretValue"},
		{"SECRETSMANAGER:GETSECRETVALUE", "secretsmanager:GetSecretValue"},
		{"s3:*", "secretsmanager:GetSecretValue"},
	} {
		f.Add(s[0], s[1])
	}
	q := libQuery(f, "data.vigil.lib.action_matches(input.p, input.a)")
	f.Fuzz(func(t *testing.T, pattern, action string) {
		rs, err := q.Eval(context.Background(), rego.EvalInput(map[string]any{"p": pattern, "a": action}))
		if err != nil {
			t.Fatalf("evaluating action_matches(%q, %q): %v", pattern, action, err)
		}
		got := len(rs) > 0 && rs[0].Expressions[0].Value == true
		want := iamActionMatches(pattern, action)
		if got != want {
			t.Fatalf("action_matches(%q, %q) = %v, IAM says %v", pattern, action, got, want)
		}
		if ev := actionMatches(pattern, action); ev != want {
			t.Fatalf("the evaluator's actionMatches(%q, %q) = %v, IAM says %v", pattern, action, ev, want)
		}
	})
}

// FuzzIAMDocument feeds arbitrary policy documents, as IAM returns them (URL-encoded JSON),
// through the parser, the IAM evaluator and the built-in rules: nothing may panic or fail
// the evaluation (a failed evaluation would block every sync of the store); a document whose
// first statement allows secretsmanager:GetSecretValue on "*" with nothing that could narrow
// it (no other statement) is always flagged, and one with an unconditional Deny of every
// action on every resource never is.
func FuzzIAMDocument(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`,
		`{"Statement":{"Effect":"Allow","Action":["ssm:*"],"Resource":["arn:aws:ssm:us-east-1:1:parameter/*"]}}`,
		`{"Statement":[{"Effect":"Allow","NotAction":"s3:*","NotResource":"x"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:Get*","Resource":"arn:aws:secretsmanager:*:*:secret:${aws:username}-*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`,
		`%7B%22Statement%22%3A%5B%5D%7D`,
		`{"Statement":[{"Effect":"Allow","Action":7,"Resource":null}]}`,
		`{"Statement":"nope"}`,
		`[]`,
	} {
		f.Add(s)
	}
	engine, err := NewRegoEngine(context.Background(), mustLibrary(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, document string) {
		doc, err := decodeDocument(document)
		if err != nil {
			if strings.Contains(err.Error(), document) && len(document) > 40 {
				t.Fatalf("the parse error repeats the whole document")
			}
			return
		}
		findings, err := engine.Evaluate(context.Background(), storeWithPolicy(doc))
		if err != nil {
			t.Fatalf("evaluating a store whose role has %s: %v", document, err)
		}
		if grantsAllSecrets(doc) && !hasRule(findings, "aws-wildcard-secret-resource") {
			t.Fatalf("%s allows GetSecretValue on * but was not flagged: %+v", document, findings)
		}
		if deniesEverything(doc) && (hasRule(findings, "aws-wildcard-secret-resource") || hasRule(findings, "aws-wildcard-secret-action")) {
			t.Fatalf("%s denies everything but was flagged: %+v", document, findings)
		}
	})
}

func mustLibrary(t testing.TB) []RegoModule {
	mods, err := LibraryModules(regoLibrary())
	if err != nil {
		t.Fatal(err)
	}
	return mods
}

func storeWithPolicy(doc map[string]any) Input {
	var generic map[string]any
	data, _ := json.Marshal(doc) // round-trip to the JSON types the builder produces
	_ = json.Unmarshal(data, &generic)
	role := "arn:aws:iam::123456789012:role/r"
	return Input{
		"kind":      "SecretStore",
		"operation": "CREATE",
		"object":    map[string]any{"metadata": map[string]any{"name": "s", "namespace": "p"}, "spec": map[string]any{"provider": map[string]any{"aws": map[string]any{}}}},
		"namespace": map[string]any{"name": "p"},
		"aws":       map[string]any{"roleArn": role, "iam": KnownIAM([]IAMPolicy{{Name: "inline/fuzz", Document: generic}}, IAMSubject{RoleARN: role})},
	}
}

// grantsAllSecrets: the only statement is Allow secretsmanager:GetSecretValue on "*",
// without a Condition.
func grantsAllSecrets(doc map[string]any) bool {
	sts, ok := doc["Statement"].([]any)
	if !ok || len(sts) != 1 {
		return false
	}
	st, ok := sts[0].(map[string]any)
	return ok && st["Effect"] == "Allow" && st["Action"] == "secretsmanager:GetSecretValue" && st["Resource"] == "*" && st["Condition"] == nil
}

// deniesEverything: some statement is Deny "*" on "*" without a Condition.
func deniesEverything(doc map[string]any) bool {
	sts, ok := doc["Statement"].([]any)
	if !ok {
		sts = []any{doc["Statement"]}
	}
	for _, raw := range sts {
		st, ok := raw.(map[string]any)
		if ok && st["Effect"] == "Deny" && st["Action"] == "*" && st["Resource"] == "*" && st["Condition"] == nil {
			return true
		}
	}
	return false
}

func hasRule(fs []Finding, id string) bool {
	for _, f := range fs {
		if f.Rule == id {
			return true
		}
	}
	return false
}
