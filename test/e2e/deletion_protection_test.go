package e2e

import (
	"bytes"
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/test/harness"
)

// This suite runs no webhook: every delete here is one that "goes anyway" past admission
// (the webhook down with failurePolicy Ignore, or not installed). kube-controller-manager's
// garbage collector runs, so an owned Secret really goes with its ExternalSecret unless
// protection orphans it. The webhook's refusal is proven in test/admission.

// protectedES is a synced ExternalSecret over a fresh remote value, with the protection
// annotation set to value ("" for none).
func protectedES(t *harness.T, ns, name, value string) *esv1.ExternalSecret {
	t.Helper()
	t.PutRemote(ns+"/"+name, `{"password":"protect-`+name+`"}`)
	es := externalSecret(ns, name, "store", ns+"/"+name, map[string]string{"password": "password"})
	if value != "" {
		es.Annotations = map[string]string{policy.AnnotationDeletionProtection: value}
	}
	t.Create(es)
	t.WaitReason(client.ObjectKeyFromObject(es), esv1.ReasonSecretSynced)
	return es
}

// waitFinalizer waits until the ExternalSecret carries the protection finalizer (want) or
// not, and returns it.
func waitFinalizer(t *harness.T, es *esv1.ExternalSecret, want bool) *esv1.ExternalSecret {
	t.Helper()
	got := &esv1.ExternalSecret{}
	t.Eventually("the deletion-protection finalizer", func(ctx context.Context) (bool, error) {
		if err := t.Client.Get(ctx, client.ObjectKeyFromObject(es), got); err != nil {
			return false, err
		}
		return slices.Contains(got.Finalizers, policy.FinalizerDeletionProtection) == want, nil
	})
	return got
}

func ownedBy(s *corev1.Secret, uid types.UID) bool {
	return slices.ContainsFunc(s.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == uid })
}

// A protected ExternalSecret deleted past the webhook: its Secret stays, with its data, no
// owner reference and the orphan label, and the ExternalSecret says so in an event. An
// unprotected one beside it loses its Secret to the garbage collector, as in ESO. An
// ExternalSecret recreated under the same name takes the kept Secret back.
func TestDeletionProtection_SecretOutlivesADeleteThatGoesAnyway(t *testing.T) {
	ht := env.T(t)
	ns := ht.NewNamespace()
	ht.Create(awsStore(ns, "store"))
	kept := protectedES(ht, ns, "kept", "true")
	plain := protectedES(ht, ns, "plain", "")
	kept = waitFinalizer(ht, kept, true)
	before := ht.Secret(ns, "kept")
	if !ownedBy(before, kept.UID) {
		t.Fatalf("Secret kept is not owned by its ExternalSecret before the delete: %v", before.OwnerReferences)
	}

	ht.Delete(kept)
	ht.Delete(plain)
	ht.WaitGone(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}})

	after := ht.Secret(ns, "kept")
	if ownedBy(after, kept.UID) {
		t.Errorf("the kept Secret still names the deleted ExternalSecret as owner: %v", after.OwnerReferences)
	}
	if after.Labels[policy.LabelOrphanedByProtection] != "true" {
		t.Errorf("the kept Secret lacks %s=true: labels %v", policy.LabelOrphanedByProtection, after.Labels)
	}
	if !bytes.Equal(after.Data["password"], before.Data["password"]) {
		t.Error("the kept Secret's data changed")
	}
	ht.WaitEvent(ns, esv1.ExternalSecretKind, "kept", "SecretOrphaned")

	// Recreated under the same name, the ExternalSecret takes its Secret back: it still
	// carries the managed label and the annotation naming it.
	again := externalSecret(ns, "kept", "store", ns+"/kept", map[string]string{"password": "password"})
	ht.Create(again)
	ht.WaitReason(client.ObjectKeyFromObject(again), esv1.ReasonSecretSynced)
	if s := ht.Secret(ns, "kept"); !ownedBy(s, again.UID) {
		t.Errorf("the recreated ExternalSecret did not take its Secret back: owners %v", s.OwnerReferences)
	}
}

// Lifting the annotation takes the finalizer off, and the delete then takes the Secret
// with it through the garbage collector, as before.
func TestDeletionProtection_LiftedProtectionDeletesAsBefore(t *testing.T) {
	ht := env.T(t)
	ns := ht.NewNamespace()
	ht.Create(awsStore(ns, "store"))
	es := waitFinalizer(ht, protectedES(ht, ns, "lifted", "true"), true)

	patch := client.MergeFrom(es.DeepCopy())
	delete(es.Annotations, policy.AnnotationDeletionProtection)
	if err := ht.Client.Patch(ht.Ctx, es, patch); err != nil {
		t.Fatal(err)
	}
	waitFinalizer(ht, es, false)
	ht.Delete(es)
	ht.WaitGone(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lifted"}})
}

// Annotating a namespace protects the ExternalSecrets already in it at once (no refresh
// or force-sync). Namespace deletion stays destructive: the protected namespace is
// deleted; this control plane runs no namespace controller, so the test deletes the
// ExternalSecret as that controller would. The finalizer lets it go without orphaning, and
// the garbage collector deletes its Secret.
func TestDeletionProtection_NamespaceDeletionStaysDestructive(t *testing.T) {
	ht := env.T(t)
	ns := ht.NewNamespace()
	ht.Create(awsStore(ns, "store"))
	es := waitFinalizer(ht, protectedES(ht, ns, "db", ""), false)
	nsObj := &corev1.Namespace{}
	ht.Get(types.NamespacedName{Name: ns}, nsObj)
	patch := client.MergeFrom(nsObj.DeepCopy())
	nsObj.Annotations = map[string]string{policy.AnnotationDeletionProtection: "true"}
	if err := ht.Client.Patch(ht.Ctx, nsObj, patch); err != nil {
		t.Fatal(err)
	}
	es = waitFinalizer(ht, es, true)

	if err := ht.Client.Delete(ht.Ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	ht.Eventually("the namespace to be terminating", func(ctx context.Context) (bool, error) {
		err := ht.Client.Get(ctx, types.NamespacedName{Name: ns}, nsObj)
		return err == nil && !nsObj.DeletionTimestamp.IsZero(), err
	})
	ht.Delete(es)
	ht.WaitGone(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}})
}

// A ClusterSecretPolicy makes protection the default for the namespaces it selects; with
// allowOptOut ExternalSecret a tenant's "false" lifts it, and deleting that one takes the
// Secret along, while a protected sibling's Secret is kept.
func TestDeletionProtection_PolicyDefaultAndTenantOptOut(t *testing.T) {
	ht := env.T(t)
	ns := ht.NewNamespace()
	createPolicy(t, ht.Ctx, &policyv1alpha1.ClusterSecretPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-protect"},
		Spec: policyv1alpha1.ClusterSecretPolicySpec{
			Match: policyv1alpha1.PolicyMatch{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
			DeletionProtection: &policyv1alpha1.DeletionProtection{
				Enabled: true, AllowOptOut: policyv1alpha1.OptOutExternalSecret},
		},
	})
	ht.Create(awsStore(ns, "store"))
	byDefault := waitFinalizer(ht, protectedES(ht, ns, "default", ""), true)
	// Its pass has run (it synced, and the finalizer is decided before the sync).
	optedOut := protectedES(ht, ns, "opted-out", "false")
	if got := waitFinalizer(ht, optedOut, false); len(got.Finalizers) != 0 {
		t.Errorf("the opted-out ExternalSecret has finalizers %v", got.Finalizers)
	}

	ht.Delete(byDefault)
	ht.Delete(optedOut)
	ht.WaitGone(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "opted-out"}})
	if s := ht.Secret(ns, "default"); s.Labels[policy.LabelOrphanedByProtection] != "true" || ownedBy(s, byDefault.UID) {
		t.Errorf("the policy-protected Secret was not orphaned: labels %v, owners %v", s.Labels, s.OwnerReferences)
	}
}
