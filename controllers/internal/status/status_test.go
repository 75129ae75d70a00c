package status

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func storeStatus(s *esv1.SecretStore) esv1.SecretStoreStatus { return s.Status }

// A pass that leaves the status as it was writes nothing; one that changes it writes once.
func TestPatch_WritesOnlyWhenTheStatusChanged(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := esv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "s", Generation: 2}}
	patches := 0
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(store).WithStatusSubresource(store).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string,
			obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			patches++
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		}}).Build()

	pass := func(status metav1.ConditionStatus, reason string) *esv1.SecretStore {
		var s esv1.SecretStore
		if err := c.Get(ctx, client.ObjectKeyFromObject(store), &s); err != nil {
			t.Fatal(err)
		}
		before := s.DeepCopy()
		SetReady(&s.Status.Conditions, s.Generation, status, reason, "m")
		if err := Patch(ctx, c, before, &s, storeStatus); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	first := pass(metav1.ConditionTrue, esv1.ReasonStoreValid)
	pass(metav1.ConditionTrue, esv1.ReasonStoreValid)
	if patches != 1 {
		t.Fatalf("%d status writes for one change and one unchanged pass, want 1", patches)
	}
	cond := first.Status.Conditions[0]
	if cond.Type != esv1.ConditionReady || cond.ObservedGeneration != 2 || cond.Reason != esv1.ReasonStoreValid {
		t.Errorf("Ready condition %+v", cond)
	}
	pass(metav1.ConditionFalse, esv1.ReasonValidationFailed)
	if patches != 2 {
		t.Errorf("%d status writes after a change of Ready, want 2", patches)
	}
}
