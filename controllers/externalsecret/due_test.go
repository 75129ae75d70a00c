package externalsecret

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func TestSyncVersion_ChangesWithGenerationAndForceSync(t *testing.T) {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Generation: 1}}
	base := syncVersion(es)
	if syncVersion(es) != base {
		t.Fatal("syncVersion is not stable")
	}
	es.Annotations = map[string]string{esv1.AnnotationForceSync: "1"}
	forced := syncVersion(es)
	if forced == base {
		t.Error("setting force-sync did not change the sync version")
	}
	es.Generation = 2
	if syncVersion(es) == forced {
		t.Error("a new generation did not change the sync version")
	}
}

// kubectl's last-applied-configuration annotation is not part of the sync version: the
// cache drops it, and a change of it comes with a change of the generation, a label or
// another annotation, which are.
func TestSyncVersion_IgnoresLastAppliedConfiguration(t *testing.T) {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Generation: 1, Annotations: map[string]string{"team": "a"}}}
	base := syncVersion(es)
	es.Annotations[corev1.LastAppliedConfigAnnotation] = `{"kind":"ExternalSecret"}`
	if syncVersion(es) != base {
		t.Error("the last-applied-configuration annotation changed the sync version")
	}
	es.Annotations["team"] = "b"
	if syncVersion(es) == base {
		t.Error("another annotation's change did not change the sync version")
	}
}

func TestDataHash(t *testing.T) {
	a := dataHash(corev1.SecretTypeOpaque, map[string][]byte{"a": []byte("1"), "b": []byte("2")})
	if a != dataHash(corev1.SecretTypeOpaque, map[string][]byte{"b": []byte("2"), "a": []byte("1")}) {
		t.Error("hash depends on map order")
	}
	// Boundaries between keys and values are part of the hash.
	if dataHash("", map[string][]byte{"ab": []byte("c")}) == dataHash("", map[string][]byte{"a": []byte("bc")}) {
		t.Error("different data hash the same")
	}
	if a == dataHash(corev1.SecretTypeDockerConfigJson, map[string][]byte{"a": []byte("1"), "b": []byte("2")}) {
		t.Error("the type is not part of the hash")
	}
}

func TestRefreshInterval(t *testing.T) {
	d := func(x time.Duration) *metav1.Duration { return &metav1.Duration{Duration: x} }
	for _, tc := range []struct {
		policy   esv1.ExternalSecretRefreshPolicy
		interval *metav1.Duration
		want     time.Duration
	}{
		{"", nil, time.Hour},
		{"", d(time.Minute), time.Minute},
		{esv1.RefreshPolicyPeriodic, d(0), 0},
		{esv1.RefreshPolicyCreatedOnce, d(time.Minute), 0},
		{esv1.RefreshPolicyOnChange, d(time.Minute), 0},
	} {
		es := &esv1.ExternalSecret{Spec: esv1.ExternalSecretSpec{RefreshPolicy: tc.policy, RefreshInterval: tc.interval}}
		if got := refreshInterval(es); got != tc.want {
			t.Errorf("policy %q interval %v: got %v, want %v", tc.policy, tc.interval, got, tc.want)
		}
	}
}

func TestJitter_StaysWithinFraction(t *testing.T) {
	r := &Reconciler{Jitter: 0.05}
	for range 1000 {
		if j := r.jitter(time.Hour); j < 0 || j > 3*time.Minute {
			t.Fatalf("jitter %v outside [0, 3m] for 1h at 5%%", j)
		}
	}
	if (&Reconciler{}).jitter(time.Hour) != 0 {
		t.Error("jitter without a fraction")
	}
}

// Refreshes of one store fall on one grid: never later than the interval after the last
// refresh, and two ExternalSecrets of a store synced at different times refresh together
// once both are on the grid.
func TestRefreshDue_AlignsAStoresRefreshes(t *testing.T) {
	interval := time.Hour
	es := func(synced time.Time) *esv1.ExternalSecret {
		return &esv1.ExternalSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns"},
			Spec:       esv1.ExternalSecretSpec{SecretStoreRef: esv1.SecretStoreRef{Name: "aws"}},
			Status:     esv1.ExternalSecretStatus{RefreshTime: metav1.NewTime(synced)},
		}
	}
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	a, b := es(t0), es(t0.Add(17*time.Minute))
	da, db := refreshDue(a, interval), refreshDue(b, interval)
	for name, c := range map[string]struct{ synced, due time.Time }{"a": {t0, da}, "b": {t0.Add(17 * time.Minute), db}} {
		if !c.due.After(c.synced) || c.due.After(c.synced.Add(interval)) {
			t.Errorf("%s synced at %v is due at %v, want within one interval after", name, c.synced, c.due)
		}
	}
	a.Status.RefreshTime = metav1.NewTime(da)
	if next := refreshDue(a, interval); !next.Equal(db) {
		t.Errorf("a's second refresh at %v, b's first at %v: want the same grid point", next, db)
	}
	other := es(t0)
	other.Spec.SecretStoreRef.Name = "vault"
	if refreshDue(other, interval).Equal(da) {
		t.Error("two stores share a phase (possible, but not for these names)")
	}
}
