package admission

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/test/harness"
)

// annotatedES creates the ExternalSecret db with the protection annotation set to value (""
// for none). Its store does not exist: admission of a delete does not look at it.
func annotatedES(ht *harness.T, ns, value string) *esv1.ExternalSecret {
	ht.Helper()
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "store", Kind: esv1.SecretStoreKind},
		Data: []esv1.ExternalSecretData{{SecretKey: "password",
			RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/db", Property: "password"}}},
	}}
	if value != "" {
		es.Annotations = map[string]string{policy.AnnotationDeletionProtection: value}
	}
	ht.Create(es)
	return es
}

// refusedWith deletes the ExternalSecret and wants a refusal that says each of want; the
// ExternalSecret must still be there afterwards.
func refusedWith(ht *harness.T, es *esv1.ExternalSecret, want ...string) {
	ht.Helper()
	err := ht.Client.Delete(ht.Ctx, es.DeepCopy())
	if !apierrors.IsForbidden(err) {
		ht.Fatalf("deleting protected ExternalSecret %s: %v, want a refusal", es.Name, err)
	}
	for _, w := range append(want, "denied the request", "is protected from deletion") {
		if !strings.Contains(err.Error(), w) {
			ht.Errorf("refusal %q does not say %q", err, w)
		}
	}
	ht.Get(client.ObjectKeyFromObject(es), &esv1.ExternalSecret{})
}

func annotateNamespace(ht *harness.T, ns, value string) {
	ht.Helper()
	obj := &corev1.Namespace{}
	ht.Get(types.NamespacedName{Name: ns}, obj)
	patch := client.MergeFrom(obj.DeepCopy())
	obj.Annotations = map[string]string{policy.AnnotationDeletionProtection: value}
	if err := ht.Client.Patch(ht.Ctx, obj, patch); err != nil {
		ht.Fatal(err)
	}
}

// kubectl delete of a protected ExternalSecret is refused with the command that lifts the
// protection; after that command (the annotation removed) the delete goes through.
func TestAdmission_ProtectedExternalSecretDeleteIsRefusedUntilLifted(t *testing.T) {
	ht := env.T(t)
	ns := env.T(t).NewNamespace()
	es := annotatedES(ht, ns, "true")
	refusedWith(ht, es, "kubectl annotate externalsecret db -n "+ns+" vigil.dev/deletion-protection-")

	ht.Get(client.ObjectKeyFromObject(es), es)
	patch := client.MergeFrom(es.DeepCopy())
	delete(es.Annotations, policy.AnnotationDeletionProtection)
	if err := ht.Client.Patch(ht.Ctx, es, patch); err != nil {
		t.Fatal(err)
	}
	ht.Delete(es) // waits until it is gone: the finalizer, if any, is off too
}

// A namespace's "true" protects its ExternalSecrets, and a tenant's "false" on the
// ExternalSecret does not lift it; the refusal names the namespace command.
func TestAdmission_NamespaceProtectionIsNotLiftedByTheTenant(t *testing.T) {
	ht := env.T(t)
	ns := env.T(t).NewNamespace()
	annotateNamespace(ht, ns, "true")
	es := annotatedES(ht, ns, "false")
	refusedWith(ht, es, "kubectl annotate namespace "+ns+" vigil.dev/deletion-protection-")
}

// A ClusterSecretPolicy's default with allowOptOut None holds against the tenant's and the
// namespace's "false": only the policy's owner lifts it, and the refusal says so.
func TestAdmission_PolicyProtectionHoldsAgainstOptOuts(t *testing.T) {
	ht := env.T(t)
	ns := env.T(t).NewNamespace()
	annotateNamespace(ht, ns, "false")
	es := annotatedES(ht, ns, "false")
	pol := &policyv1alpha1.ClusterSecretPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-protect"},
		Spec: policyv1alpha1.ClusterSecretPolicySpec{
			Match: policyv1alpha1.PolicyMatch{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
			DeletionProtection: &policyv1alpha1.DeletionProtection{Enabled: true},
		},
	}
	ht.CreateCluster(pol)
	// The policy holds once the controller has loaded it: a server-side dry run asks the
	// webhook without deleting.
	ht.Eventually("the policy's protection", func(ctx context.Context) (bool, error) {
		err := ht.Client.Delete(ctx, es.DeepCopy(), client.DryRunAll)
		return apierrors.IsForbidden(err), nil
	})
	refusedWith(ht, es, "ClusterSecretPolicy "+pol.Name+" protects this namespace by default",
		"only the policy's owner lifts it")
}

// Namespace deletion stays destructive: in a terminating namespace the delete of a
// protected ExternalSecret is admitted (the namespace controller's deletes go through).
func TestAdmission_DeleteInATerminatingNamespaceIsAdmitted(t *testing.T) {
	ht := env.T(t)
	ns := env.T(t).NewNamespace()
	es := annotatedES(ht, ns, "true")
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if err := ht.Client.Delete(ht.Ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	ht.Eventually("the namespace to be terminating", func(ctx context.Context) (bool, error) {
		err := ht.Client.Get(ctx, types.NamespacedName{Name: ns}, nsObj)
		return err == nil && !nsObj.DeletionTimestamp.IsZero(), err
	})
	ht.Delete(es)
}
