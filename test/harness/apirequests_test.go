package harness

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The API server's counters, read before and after a Secret is created, show the create
// under "POST secrets" (the benchmarks count a pass's requests this way).
func TestAPIRequests_CountsAWriteByVerbAndResource(t *testing.T) {
	cp, err := StartControlPlane()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	before, err := cp.APIRequests(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "counted"}}
	if err := cp.Client.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	after, err := cp.APIRequests(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := after["POST secrets"] - before["POST secrets"]; d != 1 {
		t.Errorf("POST secrets went up by %v after one create; want 1 (counters: %v)", d, after)
	}
	if d := after["PATCH secrets"] - before["PATCH secrets"]; d != 0 {
		t.Errorf("PATCH secrets went up by %v; nothing patched a Secret", d)
	}
}
