package status

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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

func esStatus(es *esv1.ExternalSecret) esv1.ExternalSecretStatus { return es.Status }

// The patch carries the difference of the statuses: a field the pass cleared is cleared in
// the stored object too, the stored status is the one the pass computed, and the object
// carries the resourceVersion of the write. A change below the second (what the API server
// stores of a time) is no change.
func TestPatch_StoresTheStatusOfThePass(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := esv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	synced := metav1.NewTime(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db"},
		Status: esv1.ExternalSecretStatus{RefreshTime: synced, SyncedResourceVersion: "1-abc",
			Binding: corev1.LocalObjectReference{Name: "db"}}}
	patches := 0
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(es).WithStatusSubresource(es).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string,
			obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			patches++
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		}}).Build()
	stored := func() *esv1.ExternalSecret {
		var got esv1.ExternalSecret
		if err := c.Get(ctx, client.ObjectKeyFromObject(es), &got); err != nil {
			t.Fatal(err)
		}
		return &got
	}

	current := stored()
	before := current.DeepCopy()
	current.Status.SyncedResourceVersion = ""
	SetReady(&current.Status.Conditions, 1, metav1.ConditionFalse, esv1.ReasonSecretSyncedError, "store broke")
	if err := Patch(ctx, c, before, current, esStatus); err != nil {
		t.Fatal(err)
	}
	got := stored()
	if got.Status.SyncedResourceVersion != "" || got.Status.Binding.Name != "db" || !got.Status.RefreshTime.Equal(&synced) {
		t.Errorf("stored status %+v: want syncedResourceVersion cleared, binding and refreshTime kept", got.Status)
	}
	if c := got.Status.Conditions; len(c) != 1 || c[0].Reason != esv1.ReasonSecretSyncedError {
		t.Errorf("stored conditions %+v, want the Ready condition of the pass", c)
	}
	if current.ResourceVersion != got.ResourceVersion || current.ResourceVersion == before.ResourceVersion {
		t.Errorf("the object carries resourceVersion %s after the write, the API server %s (before: %s)",
			current.ResourceVersion, got.ResourceVersion, before.ResourceVersion)
	}

	before = got.DeepCopy()
	got.Status.RefreshTime = metav1.NewTime(synced.Add(300 * time.Millisecond))
	if err := Patch(ctx, c, before, got, esStatus); err != nil {
		t.Fatal(err)
	}
	if patches != 1 {
		t.Errorf("%d writes after a change below the second, want 1 (the first pass only)", patches)
	}
}
