package policy

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

// A gate's inputs carry its operation: the reconcilers' gate says RECONCILE (the default),
// the auditor's AUDIT, so a policy can tell them apart (here: a rule only the audit applies).
func TestGate_InputsCarryTheGatesOperation(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, esv1.AddToScheme, policyv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	seen := &policyv1alpha1.ClusterSecretPolicy{ObjectMeta: metav1.ObjectMeta{Name: "op"}, Spec: policyv1alpha1.ClusterSecretPolicySpec{
		Validations: []policyv1alpha1.CELRule{{Name: "audit-wants-labels", Message: "label it", Action: "Audit",
			Expression: `input.operation != "AUDIT" || has(input.object.metadata.labels)`}},
	}}
	h, err := NewHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet(ctx, []policyv1alpha1.ClusterSecretPolicy{*seen})
	if err != nil {
		t.Fatal(err)
	}
	h.Set(set)
	builder := &Builder{Client: fake.NewClientBuilder().WithScheme(scheme).Build()}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "e"}, Spec: esv1.ExternalSecretSpec{RefreshInterval: &metav1.Duration{Duration: 3600e9}}}
	for _, tc := range []struct {
		gate *Gate
		want int // violations of audit-wants-labels
	}{
		{&Gate{Builder: builder, Policies: h}, 0},
		{&Gate{Builder: builder, Policies: h, Op: OpReconcile}, 0},
		{&Gate{Builder: builder, Policies: h, Op: OpAudit}, 1},
	} {
		vs, err := tc.gate.ExternalSecret(ctx, es, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, v := range vs {
			if v.Rule == "audit-wants-labels" {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("gate with Op %q: %d violations of audit-wants-labels (%v), want %d", tc.gate.Op, got, vs, tc.want)
		}
	}
}
