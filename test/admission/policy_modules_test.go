package admission

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/test/harness"
)

// A ClusterSecretPolicy with a Warn module and a Deny module: each rule keeps its own
// module's action (all rules once took the last module's). An ExternalSecret that breaks
// only the Warn rule is admitted with a warning; one that breaks the Deny rule is refused.
func TestAdmission_EachRegoModuleKeepsItsAction(t *testing.T) {
	ctx := context.Background()
	ns := env.T(t).NewNamespace()
	var nsObj corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: ns}, &nsObj); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(nsObj.DeepCopy())
	nsObj.Labels = map[string]string{"modules-test": ns}
	if err := c.Patch(ctx, &nsObj, patch); err != nil {
		t.Fatal(err)
	}
	pol := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "modules-" + ns}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Match: policyv1alpha1.PolicyMatch{Kinds: []string{"ExternalSecret"},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"modules-test": ns}}},
		Rego: []policyv1alpha1.RegoRule{
			{Name: "owner", Action: "Warn", Module: "package vigil.custom.owner_label\nimport rego.v1\n" +
				"violation contains {\"message\": \"add an owner label\"} if not input.object.metadata.labels.owner\n"},
			{Name: "forbidden", Action: "Deny", Module: "package vigil.custom.forbidden_label\nimport rego.v1\n" +
				"violation contains {\"message\": \"the forbidden label is set\"} if input.object.metadata.labels.forbidden\n"},
		},
	}}
	if err := c.Create(ctx, pol); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), pol) })
	waitPolicyReady(t, ctx, pol)

	warnings.take()
	if err := c.Create(ctx, esWithKey(ns, "warned", "none", "prod/x"), client.DryRunAll); err != nil {
		t.Fatalf("breaking only the Warn module's rule was refused: %v", err)
	}
	if got := strings.Join(warnings.take(), "\n"); !strings.Contains(got, "custom.owner_label") {
		t.Errorf("no admission warning names custom.owner_label; warnings: %q", got)
	}
	forbidden := esWithKey(ns, "forbidden", "none", "prod/x")
	forbidden.Labels = map[string]string{"owner": "team-a", "forbidden": "yes"}
	denied(t, forbidden, "custom.forbidden_label", "the forbidden label is set")
}

// waitPolicyReady waits until the controller has compiled the policy's current generation:
// only then does the webhook judge with it.
func waitPolicyReady(t *testing.T, ctx context.Context, pol *policyv1alpha1.ClusterSecretPolicy) {
	t.Helper()
	err := harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(pol), pol); err != nil {
			return false, err
		}
		cond := apimeta.FindStatusCondition(pol.Status.Conditions, "Ready")
		return cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == pol.Generation, nil
	})
	if err != nil {
		t.Fatalf("ClusterSecretPolicy %s never became Ready: %v", pol.Name, err)
	}
}
