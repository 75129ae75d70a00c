package admission

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// withCESOwner patches the ExternalSecret to name a ClusterExternalSecret as its controller.
func withCESOwner(ctx context.Context, c client.Client, es *esv1.ExternalSecret, name string, uid types.UID) error {
	cur := &esv1.ExternalSecret{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(es), cur); err != nil {
		return err
	}
	patch := client.MergeFrom(cur.DeepCopy())
	cur.OwnerReferences = []metav1.OwnerReference{{APIVersion: esv1.GroupVersion.String(),
		Kind: "ClusterExternalSecret", Name: name, UID: uid, Controller: ptr.To(true)}}
	return c.Patch(ctx, cur, patch)
}

// A tenant cannot lift deletion protection by naming a ClusterExternalSecret as the
// controller of its ExternalSecret: a reference to one that does not exist is refused, and
// a copy of a real one's reference on an ExternalSecret that is not its child does not
// admit the delete.
func TestAdmission_ProtectionHoldsAgainstAFakeClusterExternalSecretOwner(t *testing.T) {
	ht := env.T(t)
	ns := ht.NewNamespace()
	es := annotatedES(ht, ns, "true")

	err := withCESOwner(ht.Ctx, ht.Client, es, ns+"-fake", "00000000-0000-0000-0000-000000000001")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("adding a made-up ClusterExternalSecret owner: %v, want a refusal", err)
	}
	refusedWith(ht, es)

	// A real ClusterExternalSecret that selects no namespace (so it has no children).
	ces := &esv1.ClusterExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: ns + "-ces"},
		Spec: esv1.ClusterExternalSecretSpec{
			Namespaces:         []string{ns + "-nowhere"},
			ExternalSecretSpec: es.Spec,
		}}
	ht.CreateCluster(ces)
	ht.Eventually("the webhook to see the ClusterExternalSecret", func(ctx context.Context) (bool, error) {
		err := withCESOwner(ctx, ht.Client, es, ces.Name, ces.UID)
		return err == nil, nil
	})
	refusedWith(ht, es)
}
