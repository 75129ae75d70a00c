package policy

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

// Right after a start, before the policy controller has run, the enforcement points judge
// with the cluster's policies, not the built-in library alone; a broken policy is left out.
func TestHolder_LoadsClusterPoliciesBeforeThePolicyController(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := policyv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	team := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "team"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Validations: []policyv1alpha1.CELRule{{Name: "needs-team", Expression: `has(input.object.metadata.labels)`, Message: "label it"}},
	}}
	broken := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "broken"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Validations: []policyv1alpha1.CELRule{{Name: "oops", Expression: `input.kind ==`, Message: "m"}},
	}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(team, broken).Build()
	h, err := NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gate := &Gate{Builder: &Builder{Client: c}, Policies: h}
	in := Input{"kind": "ExternalSecret", "namespace": map[string]any{"name": "p"}, "object": map[string]any{"metadata": map[string]any{"name": "e"}, "spec": map[string]any{"refreshInterval": "1h"}}}
	vs, err := gate.evaluate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Rule != "needs-team" {
		t.Fatalf("first evaluation after start: %v, want the cluster policy's needs-team", vs)
	}
	// The policy controller's set wins from then on.
	empty, _ := NewSet(ctx, nil)
	h.Set(empty)
	if vs, _ := gate.evaluate(ctx, in); len(vs) != 0 {
		t.Errorf("after the policy controller's Set: %v, want none", vs)
	}
}
