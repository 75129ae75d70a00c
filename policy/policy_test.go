package policy

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

// The conformance set: rules expressed in both Rego (the built-in library) and CEL. Both
// engines must flag exactly the same cases.
var celBuiltins = []CELValidation{
	{Rule: "clustersecretstore-unscoped", Expression: `input.kind != "ClusterSecretStore" || (has(input.object.spec.conditions) && size(input.object.spec.conditions) > 0 && input.object.spec.conditions.all(c, !has(c.namespaceSelector) || size(c.namespaceSelector) > 0))`, Message: "unscoped"},
	{Rule: "store-static-credentials", Expression: `!(input.kind in ["SecretStore", "ClusterSecretStore"]) || !has(input.object.spec.provider) || !has(input.object.spec.provider.aws) || !has(input.object.spec.provider.aws.auth) || !has(input.object.spec.provider.aws.auth.secretRef)`, Message: "static"},
	{Rule: "externalsecret-find-without-path", Expression: `input.kind != "ExternalSecret" || !has(input.object.spec.dataFrom) || input.object.spec.dataFrom.all(f, !has(f.find) || (has(f.find.path) && !f.find.path.split("/").all(s, s.trim() in ["", "."])))`, Message: "find"},
	{Rule: "secret-type-privileged", Expression: `input.kind != "ExternalSecret" || !has(input.object.spec.target) || !has(input.object.spec.target.template) || !has(input.object.spec.target.template.type) || input.object.spec.target.template.type != "kubernetes.io/service-account-token"`, Message: "privileged"},
}

var conformanceCases = []struct {
	name string
	in   Input
	want []string // rule ids flagged, sorted
}{
	{"css without conditions", Input{"kind": "ClusterSecretStore", "object": map[string]any{"metadata": map[string]any{"name": "g"}, "spec": map[string]any{}}}, []string{"clustersecretstore-unscoped"}},
	{"css with empty selector", Input{"kind": "ClusterSecretStore", "object": map[string]any{"metadata": map[string]any{"name": "g"}, "spec": map[string]any{"conditions": []any{map[string]any{"namespaceSelector": map[string]any{}}}}},
		"conditions": conditionFacts([]esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{}}})}, []string{"clustersecretstore-unscoped"}},
	{"css scoped by name", Input{"kind": "ClusterSecretStore", "object": map[string]any{"metadata": map[string]any{"name": "g"}, "spec": map[string]any{"conditions": []any{map[string]any{"namespaces": []any{"payments"}}}}}}, nil},
	{"store with static keys", Input{"kind": "SecretStore", "object": map[string]any{"metadata": map[string]any{"name": "s"}, "spec": map[string]any{"provider": map[string]any{"aws": map[string]any{"auth": map[string]any{"secretRef": map[string]any{"accessKeyIDSecretRef": map[string]any{"name": "k"}}}}}}}}, []string{"store-static-credentials"}},
	{"store with IRSA", Input{"kind": "SecretStore", "object": map[string]any{"metadata": map[string]any{"name": "s"}, "spec": map[string]any{"provider": map[string]any{"aws": map[string]any{"auth": map[string]any{"jwt": map[string]any{}}}}}}}, nil},
	{"find without path, privileged type", Input{"kind": "ExternalSecret", "namespace": map[string]any{"name": "p"}, "object": map[string]any{"metadata": map[string]any{"name": "e"}, "spec": map[string]any{
		"refreshInterval": "1h",
		"dataFrom":        []any{map[string]any{"find": map[string]any{"name": map[string]any{"regexp": ".*"}}}},
		"target":          map[string]any{"template": map[string]any{"type": "kubernetes.io/service-account-token"}},
	}}}, []string{"externalsecret-find-without-path", "secret-type-privileged"}},
	{"find with a blank path", Input{"kind": "ExternalSecret", "namespace": map[string]any{"name": "p"}, "object": map[string]any{"metadata": map[string]any{"name": "e"}, "spec": map[string]any{
		"refreshInterval": "1h", "dataFrom": []any{map[string]any{"find": map[string]any{"path": " / "}}, map[string]any{"find": map[string]any{"path": ""}}},
	}}}, []string{"externalsecret-find-without-path"}},
	{"clean ExternalSecret", Input{"kind": "ExternalSecret", "namespace": map[string]any{"name": "p"}, "object": map[string]any{"metadata": map[string]any{"name": "e"}, "spec": map[string]any{
		"refreshInterval": "1h", "dataFrom": []any{map[string]any{"find": map[string]any{"path": "prod/"}}},
	}}}, nil},
}

func flagged(fs []Finding, only []CELValidation) []string {
	keep := map[string]bool{}
	for _, v := range only {
		keep[v.Rule] = true
	}
	var out []string
	for _, f := range fs {
		if keep[f.Rule] && !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	slices.Sort(out)
	return out
}

func TestConformance_RegoAndCELAgree(t *testing.T) {
	ctx := context.Background()
	lib, err := LibraryModules(regoLibrary())
	if err != nil {
		t.Fatal(err)
	}
	regoEng, err := NewRegoEngine(ctx, lib)
	if err != nil {
		t.Fatal(err)
	}
	celEng, err := NewCELEngine(celBuiltins)
	if err != nil {
		t.Fatal(err)
	}
	for name, eng := range map[string]Engine{"rego": regoEng, "cel": celEng} {
		for _, tc := range conformanceCases {
			fs, err := eng.Evaluate(ctx, tc.in)
			if err != nil {
				t.Fatalf("%s %s: %v", name, tc.name, err)
			}
			if got := flagged(fs, celBuiltins); !slices.Equal(got, tc.want) {
				t.Errorf("%s engine, %s: flagged %v, want %v", name, tc.name, got, tc.want)
			}
		}
	}
}

func TestBuiltinRules_HaveMetadata(t *testing.T) {
	s, err := NewSet(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aws-wildcard-secret-action", "aws-wildcard-secret-resource", "clustersecretstore-unscoped", "externalsecret-find-without-path",
		"externalsecret-key-not-normalized", "externalsecret-key-outside-prefix", "externalsecret-refresh-interval",
		"pushsecret-key-not-normalized", "pushsecret-key-outside-prefix", "secret-type-privileged", "store-ambient-credentials", "store-plaintext-credentials", "store-static-credentials"}
	if got := slices.Sorted(maps.Keys(s.Rules())); !slices.Equal(got, want) {
		t.Fatalf("built-in rules %v, want %v", got, want)
	}
	for id, r := range s.Rules() {
		if r.Title == "" || r.Remediation == "" || (r.Action != Deny && r.Action != Warn && r.Action != Audit) {
			t.Errorf("%s: incomplete metadata %+v", id, r)
		}
	}
	if s.Rules()["store-static-credentials"].Action != Warn {
		t.Error("store-static-credentials must default to Warn")
	}
	if s.Rules()["store-plaintext-credentials"].Action != Deny {
		t.Error("store-plaintext-credentials must default to Deny")
	}
}

func policyWith(spec policyv1alpha1.ClusterSecretPolicySpec) policyv1alpha1.ClusterSecretPolicy {
	return policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: spec}
}

func TestSet_PolicyConfiguresBuiltins(t *testing.T) {
	ctx := context.Background()
	off, warn := false, policyv1alpha1.PolicyAction("Warn")
	s, err := NewSet(ctx, []policyv1alpha1.ClusterSecretPolicy{policyWith(policyv1alpha1.ClusterSecretPolicySpec{Rules: []policyv1alpha1.BuiltinRule{
		{ID: "clustersecretstore-unscoped", Enabled: &off},
		{ID: "secret-type-privileged", Action: warn},
		{ID: "externalsecret-refresh-interval", Parameters: &apiextensionsv1.JSON{Raw: []byte(`{"max":"30m"}`)}},
	}})})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := s.Evaluate(ctx, Input{"kind": "ClusterSecretStore", "object": map[string]any{"metadata": map[string]any{"name": "g"}, "spec": map[string]any{}}})
	if err != nil || len(vs) != 0 {
		t.Errorf("a disabled rule still reports: %v %v", vs, err)
	}
	vs, err = s.Evaluate(ctx, Input{"kind": "ExternalSecret", "namespace": map[string]any{"name": "p"}, "object": map[string]any{"metadata": map[string]any{"name": "e"}, "spec": map[string]any{
		"refreshInterval": "1h", "target": map[string]any{"template": map[string]any{"type": "kubernetes.io/service-account-token"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Action{}
	for _, v := range vs {
		got[v.Rule] = v.Action
	}
	if got["secret-type-privileged"] != Warn {
		t.Errorf("action override not applied: %v", got)
	}
	if _, ok := got["externalsecret-refresh-interval"]; !ok {
		t.Errorf("parameter max=30m not applied to a 1h interval: %v", got)
	}
}

func TestSet_CustomRegoAndCEL(t *testing.T) {
	ctx := context.Background()
	s, err := NewSet(ctx, []policyv1alpha1.ClusterSecretPolicy{policyWith(policyv1alpha1.ClusterSecretPolicySpec{
		Match: policyv1alpha1.PolicyMatch{Kinds: []string{"ExternalSecret"}, ExcludedNamespaces: []string{"kube-system"}},
		Rego: []policyv1alpha1.RegoRule{{Name: "team-label", Module: `package vigil.custom.team_label
import rego.v1
violation contains {"message": "ExternalSecrets need a team label", "path": "metadata.labels"} if not input.object.metadata.labels.team`}},
		Validations: []policyv1alpha1.CELRule{{Name: "owner", Expression: `has(input.object.metadata.annotations) && "owner" in input.object.metadata.annotations`, Message: "set an owner annotation", Action: "Warn"}},
	})})
	if err != nil {
		t.Fatal(err)
	}
	in := func(ns string) Input {
		return Input{"kind": "ExternalSecret", "namespace": map[string]any{"name": ns}, "object": map[string]any{"metadata": map[string]any{"name": "e"}, "spec": map[string]any{"refreshInterval": "1h"}}}
	}
	vs, err := s.Evaluate(ctx, in("payments"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Action{}
	for _, v := range vs {
		got[v.Rule] = v.Action
	}
	if got["custom.team_label"] != Deny || got["owner"] != Warn {
		t.Errorf("custom rules: %v", got)
	}
	if vs, _ := s.Evaluate(ctx, in("kube-system")); len(vs) != 0 {
		t.Errorf("an excluded namespace was checked: %v", vs)
	}
}

func TestSet_BrokenPoliciesAreRefusedWithTheCompilerMessage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		spec policyv1alpha1.ClusterSecretPolicySpec
		want []string
	}{
		{"rego syntax", policyv1alpha1.ClusterSecretPolicySpec{Rego: []policyv1alpha1.RegoRule{{Name: "bad", Module: "package vigil.custom.bad\nimport rego.v1\nviolation contains x if {\n  x := \n}"}}}, []string{"ClusterSecretPolicy p", "p/bad.rego:", "rego_parse_error"}},
		{"rego outside vigil.custom", policyv1alpha1.ClusterSecretPolicySpec{Rego: []policyv1alpha1.RegoRule{{Name: "pkg", Module: "package other\nimport rego.v1\nx := 1"}}}, []string{"must be under vigil.custom"}},
		{"rego unsafe var", policyv1alpha1.ClusterSecretPolicySpec{Rego: []policyv1alpha1.RegoRule{{Name: "unsafe", Module: "package vigil.custom.u\nimport rego.v1\nviolation contains y if { x := 1 }"}}}, []string{"p/unsafe.rego:3", "unsafe"}},
		{"cel syntax", policyv1alpha1.ClusterSecretPolicySpec{Validations: []policyv1alpha1.CELRule{{Name: "c", Expression: "input.kind ==", Message: "m"}}}, []string{"CEL validation c", "Syntax error"}},
		{"cel not a bool", policyv1alpha1.ClusterSecretPolicySpec{Validations: []policyv1alpha1.CELRule{{Name: "c", Expression: `"text"`, Message: "m"}}}, []string{"must be a bool"}},
		{"unknown built-in", policyv1alpha1.ClusterSecretPolicySpec{Rules: []policyv1alpha1.BuiltinRule{{ID: "no-such-rule"}}}, []string{`no built-in rule "no-such-rule"`}},
	} {
		err := CheckPolicy(ctx, policyWith(tc.spec))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
}

func TestCEL_CostLimitStopsRunawayExpressions(t *testing.T) {
	// The estimate refuses six nested loops at compile time (admission)...
	_, err := NewCELEngine([]CELValidation{{Rule: "slow", Expression: `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, a+b+c+d+e+f > 0))))))`, Message: "m"}})
	if err == nil || !strings.Contains(err.Error(), "estimated cost") || !strings.Contains(err.Error(), "10000000") {
		t.Fatalf("six nested loops were not refused by the cost estimate: %v", err)
	}
	// ...and the run-time limit stops one whose input is bigger than the estimate assumed.
	eng, err := NewCELEngine([]CELValidation{{Rule: "regex", Expression: `input.s.matches("^(a|b)*c$")`, Message: "m"}})
	if err != nil {
		t.Fatalf("one regular expression over the input was refused: %v", err)
	}
	fs, err := eng.Evaluate(context.Background(), Input{"s": strings.Repeat("ab", 3_000_000)})
	if err != nil || len(fs) != 1 || !strings.Contains(fs[0].Message, "could not be evaluated") || !strings.Contains(fs[0].Message, "cost limit") {
		t.Errorf("a runaway expression was not stopped by the cost limit: %v %v", fs, err)
	}
}

// Each Rego module of a policy keeps its own action: a Warn module's rule stays Warn next
// to a Deny module in the same ClusterSecretPolicy (all rules once took the last module's).
func TestSet_EachRegoModuleKeepsItsAction(t *testing.T) {
	ctx := context.Background()
	module := func(pkg string) string {
		return "package vigil.custom." + pkg + "\nimport rego.v1\nviolation contains {\"message\": \"" + pkg + "\"} if true"
	}
	for _, order := range [][]policyv1alpha1.RegoRule{
		{{Name: "w", Module: module("warn_me"), Action: "Warn"}, {Name: "d", Module: module("deny_me"), Action: "Deny"}},
		{{Name: "d", Module: module("deny_me"), Action: "Deny"}, {Name: "w", Module: module("warn_me"), Action: "Warn"}},
		{{Name: "d", Module: module("deny_me")}, {Name: "w", Module: module("warn_me"), Action: "Warn"}},
	} {
		s, err := NewSet(ctx, []policyv1alpha1.ClusterSecretPolicy{policyWith(policyv1alpha1.ClusterSecretPolicySpec{Rego: order})})
		if err != nil {
			t.Fatal(err)
		}
		vs, err := s.Evaluate(ctx, Input{"kind": "ExternalSecret", "namespace": map[string]any{"name": "p"},
			"object": map[string]any{"metadata": map[string]any{"name": "e"}, "spec": map[string]any{"refreshInterval": "1h"}}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]Action{}
		for _, v := range vs {
			got[v.Rule] = v.Action
		}
		if got["custom.warn_me"] != Warn || got["custom.deny_me"] != Deny {
			t.Errorf("modules %s then %s: actions %v, want custom.warn_me=Warn custom.deny_me=Deny", order[0].Name, order[1].Name, got)
		}
	}
}
