package policy

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// A store's verdict is reused only for the same object version, operation and policies,
// and only within the TTL.
func TestStoreMemo_ReusesOnlyTheSameStoreVersionPoliciesAndTime(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1700000000, 0))
	m := NewStoreMemo(10 * time.Second)
	m.Clock = clk
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "aws", UID: "u1", ResourceVersion: "5"}}
	set, other := &Set{}, &Set{}
	deny := []Violation{{Rule: "store-ambient-credentials", Action: Deny}}
	m.put(store, OpReconcile, set, deny)

	if vs, ok := m.get(store, OpReconcile, set); !ok || len(vs) != 1 || vs[0].Rule != "store-ambient-credentials" {
		t.Fatalf("same store, policies and op within the TTL: got %v, %v", vs, ok)
	}
	changed := store.DeepCopy()
	changed.ResourceVersion = "6"
	for name, miss := range map[string]func() bool{
		"a new version of the store": func() bool { _, ok := m.get(changed, OpReconcile, set); return !ok },
		"other policies":             func() bool { _, ok := m.get(store, OpReconcile, other); return !ok },
		"another operation":          func() bool { _, ok := m.get(store, OpAudit, set); return !ok },
	} {
		if !miss() {
			t.Errorf("%s: the old verdict was reused", name)
		}
	}
	clk.SetTime(clk.Now().Add(10 * time.Second))
	if _, ok := m.get(store, OpReconcile, set); ok {
		t.Error("a verdict past its TTL was reused")
	}
	var none *StoreMemo
	if _, ok := none.get(store, OpReconcile, set); ok {
		t.Error("a nil memo returned a verdict")
	}
}
