package externalsecret

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/policy"
)

// orphanSecret touches only a Secret that names this ExternalSecret (by UID) as owner: it
// drops that reference, keeps the others and labels it; a Secret of the target's name
// that another object owns, or nobody, is left exactly as it was.
func TestOrphanSecret_TouchesOnlyTheSecretItOwns(t *testing.T) {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db", UID: "es-uid"}}
	ownRef := metav1.OwnerReference{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret", Name: "db", UID: "es-uid"}
	otherRef := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "other-uid"}
	cases := []struct {
		name       string
		owners     []metav1.OwnerReference
		wantOwners int
		wantLabel  bool
	}{
		{"owned", []metav1.OwnerReference{ownRef, otherRef}, 1, true},
		{"someone else's", []metav1.OwnerReference{otherRef}, 1, false},
		{"nobody's", nil, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scheme := runtime.NewScheme()
			_ = corev1.AddToScheme(scheme)
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db", OwnerReferences: tc.owners}}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret).Build()
			r := &Reconciler{Client: c, APIReader: c, Events: events.NewFakeRecorder(10)}
			if err := r.orphanSecret(context.Background(), es); err != nil {
				t.Fatal(err)
			}
			got := &corev1.Secret{}
			if err := c.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "db"}, got); err != nil {
				t.Fatal(err)
			}
			if len(got.OwnerReferences) != tc.wantOwners || (tc.wantOwners == 1 && got.OwnerReferences[0].UID != "other-uid") {
				t.Errorf("owners %v", got.OwnerReferences)
			}
			if (got.Labels[policy.LabelOrphanedByProtection] == "true") != tc.wantLabel {
				t.Errorf("labels %v, want the orphan label: %v", got.Labels, tc.wantLabel)
			}
			if !tc.wantLabel && got.ResourceVersion != secret.ResourceVersion {
				t.Errorf("a Secret it does not own was written (resourceVersion %s → %s)", secret.ResourceVersion,
					got.ResourceVersion)
			}
		})
	}
}
