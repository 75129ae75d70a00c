package policy

import (
	"context"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

func expr(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
}

// Selectors are read with the API server's semantics: only a requirement that pins a label
// to chosen values scopes a condition.
func TestSelectorOpen(t *testing.T) {
	const name = "kubernetes.io/metadata.name"
	for _, tc := range []struct {
		name string
		sel  *metav1.LabelSelector
		open bool
	}{
		{"nil", nil, false},
		{"empty", &metav1.LabelSelector{}, true},
		{"matchLabels", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments"}}, false},
		{"In", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("team", metav1.LabelSelectorOpIn, "a", "b")}}, false},
		{"Exists", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("team", metav1.LabelSelectorOpExists)}}, true},
		{"DoesNotExist", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("team", metav1.LabelSelectorOpDoesNotExist)}}, true},
		{"NotIn", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("team", metav1.LabelSelectorOpNotIn, "a")}}, true},
		{"Exists and NotIn", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("team", metav1.LabelSelectorOpExists), expr("env", metav1.LabelSelectorOpNotIn, "dev")}}, true},
		{"Exists and In", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("team", metav1.LabelSelectorOpExists), expr("tier", metav1.LabelSelectorOpIn, "prod")}}, false},
		{"Exists and matchLabels", &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}, MatchExpressions: []metav1.LabelSelectorRequirement{expr("team", metav1.LabelSelectorOpExists)}}, false},
		{"names In", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr(name, metav1.LabelSelectorOpIn, "a", "b")}}, false},
		{"name matchLabels", &metav1.LabelSelector{MatchLabels: map[string]string{name: "payments"}}, false},
		{"names NotIn", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr(name, metav1.LabelSelectorOpNotIn, "kube-system")}}, true},
		{"name Exists", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr(name, metav1.LabelSelectorOpExists)}}, true},
		{"name DoesNotExist selects nothing", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr(name, metav1.LabelSelectorOpDoesNotExist)}}, false},
		{"invalid: In without values selects nothing", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("team", metav1.LabelSelectorOpIn)}}, false},
	} {
		open, why := selectorOpen(tc.sel)
		if open != tc.open {
			t.Errorf("%s: open = %v, want %v (%s)", tc.name, open, tc.open, why)
		}
		if open && why == "" {
			t.Errorf("%s: open without a reason", tc.name)
		}
	}
}

// Regexes are judged by their syntax tree: they scope only when every name they match starts
// with one of a finite set of non-empty literals after ^ (^$ matches no name at all).
func TestRegexOpen(t *testing.T) {
	open := []string{".*", "^.*$", ".+", "^.+$", "[a-z0-9-]*", "^[a-z0-9-]*$", "^(a|.*)$", "team", "team-a", "-prod$", "^[a-z]+-payments$",
		"", "^", "(^|-)team-", "^.*team", "(?i)team", "^(?:)team|x", "\\bteam", "^(team)*", "a|^b",
		"^(team-a)?", "^[a-z]+$", "$", "^(a|b)?", "(?i)^[a-z0-9]{1,20}-x"}
	scoped := []string{"^team-a-.*", "^team-", "^(payments|billing)$", "^(team-a|team-b)-.*", `\Ateam-`, "(^team-a$)|(^team-b$)", `^team-\d+$`, "(?i)^team-", "(?m)^team-", "^(team-)+x", "^a{2,}", `\b^team`,
		"^[t]?eam", "^(?:a|b)$", "^[ab]-x", "^$", "^(a)?$", "^(?:prod|staging)-[0-9]$",
		"(", "^[z-a]"} // the last two do not compile: they match nothing
	for _, re := range open {
		if got, why := regexOpen(re); !got || !strings.Contains(why, "fixed prefix") {
			t.Errorf("regex %q: open = %v, want open (%s)", re, got, why)
		}
	}
	for _, re := range scoped {
		if got, why := regexOpen(re); got {
			t.Errorf("regex %q: open, want scoped (%s)", re, why)
		}
	}
}

// The input of a ClusterSecretStore carries one fact per condition, and the built-in rule
// flags the open ones by path.
func TestClusterSecretStoreUnscoped_ReadsConditionFacts(t *testing.T) {
	ctx := context.Background()
	set, err := NewSet(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		conds []esv1.ClusterSecretStoreCondition
		path  string // "" when the store is scoped
	}{
		{"names", []esv1.ClusterSecretStoreCondition{{Namespaces: []string{"payments"}}}, ""},
		{"pinned label", []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments"}}}}, ""},
		{"Exists", []esv1.ClusterSecretStoreCondition{{Namespaces: []string{"a"}}, {NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr("team", metav1.LabelSelectorOpExists)}}}}, "spec.conditions[1].namespaceSelector"},
		{"prefix regex", []esv1.ClusterSecretStoreCondition{{NamespaceRegexes: []string{"^team-a-"}}}, ""},
		{"open regex after a scoped one", []esv1.ClusterSecretStoreCondition{{NamespaceRegexes: []string{"^team-a-", "payments$"}}}, "spec.conditions[0].namespaceRegexes[1]"},
		{"an empty condition selects nothing", []esv1.ClusterSecretStoreCondition{{}}, ""},
	} {
		store := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "global"}, Spec: esv1.SecretStoreSpec{Conditions: tc.conds,
			Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}}}
		vs := lintStore(t, ctx, set, store)
		var paths []string
		for _, v := range vs {
			if v.Rule == "clustersecretstore-unscoped" {
				paths = append(paths, v.Path)
			}
		}
		switch {
		case tc.path == "" && len(paths) > 0:
			t.Errorf("%s: flagged at %v, want scoped", tc.name, paths)
		case tc.path != "" && (len(paths) != 1 || paths[0] != tc.path):
			t.Errorf("%s: flagged at %v, want %s", tc.name, paths, tc.path)
		}
	}
}

// Where namespace creators set some labels themselves, the admin lists them in
// tenantLabels: a selector pinned only by them is open, one pinned by another label or by
// namespace name stays scoped.
func TestClusterSecretStoreUnscoped_TenantLabels(t *testing.T) {
	ctx := context.Background()
	set, err := NewSet(ctx, []policyv1alpha1.ClusterSecretPolicy{policyWith(policyv1alpha1.ClusterSecretPolicySpec{Rules: []policyv1alpha1.BuiltinRule{
		{ID: "clustersecretstore-unscoped", Parameters: &apiextensionsv1.JSON{Raw: []byte(`{"tenantLabels":["team"]}`)}},
	}})})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		sel    *metav1.LabelSelector
		opened bool
	}{
		{"team only", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments"}}, true},
		{"team and an admin label", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments", "tier": "prod"}}, false},
		{"admin label", &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}, false},
		{"team and a name", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments", "kubernetes.io/metadata.name": "payments"}}, false},
	} {
		store := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "g"}, Spec: esv1.SecretStoreSpec{
			Conditions: []esv1.ClusterSecretStoreCondition{{NamespaceSelector: tc.sel}}, Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}}}
		vs := lintStore(t, ctx, set, store)
		got := slices.ContainsFunc(vs, func(v Violation) bool {
			return v.Rule == "clustersecretstore-unscoped" && strings.Contains(v.Message, "tenantLabels")
		})
		if got != tc.opened {
			t.Errorf("%s: flagged = %v, want %v (%v)", tc.name, got, tc.opened, vs)
		}
	}
}

// lintStore evaluates the set on a ClusterSecretStore as `vigil lint` does.
func lintStore(t *testing.T, ctx context.Context, set *Set, store *esv1.ClusterSecretStore) []Violation {
	t.Helper()
	in, err := (&Builder{}).ForStore(ctx, store, OpLint)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := set.Evaluate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}
