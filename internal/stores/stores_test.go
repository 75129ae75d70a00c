package stores

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func TestAllows(t *testing.T) {
	team := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"tier": "prod"}}}
	for _, tc := range []struct {
		name  string
		conds []esv1.ClusterSecretStoreCondition
		want  bool
	}{
		{"no conditions admit every namespace", nil, true},
		{"name listed", []esv1.ClusterSecretStoreCondition{{Namespaces: []string{"other", "team-a"}}}, true},
		{"name not listed", []esv1.ClusterSecretStoreCondition{{Namespaces: []string{"other"}}}, false},
		{"selector matches", []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}}}, true},
		{"selector does not match", []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "dev"}}}}, false},
		{"regex matches", []esv1.ClusterSecretStoreCondition{{NamespaceRegexes: []string{"^team-"}}}, true},
		{"any condition is enough", []esv1.ClusterSecretStoreCondition{{Namespaces: []string{"x"}}, {NamespaceRegexes: []string{"a$"}}}, true},
	} {
		got, err := Allows(tc.conds, team)
		if err != nil || got != tc.want {
			t.Errorf("%s: Allows = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := Allows([]esv1.ClusterSecretStoreCondition{{NamespaceRegexes: []string{"("}}}, team); err == nil {
		t.Errorf("a broken regex was accepted")
	}
}
