package e2e

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/test/harness"
)

// kubeSecret reads a Secret as the admin; nil when there is none.
func kubeSecret(h *harness.T, ns, name string) *corev1.Secret {
	h.Helper()
	s := &corev1.Secret{}
	err := h.Client.Get(h.Ctx, types.NamespacedName{Namespace: ns, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		h.Fatal(err)
	}
	return s
}

// A PushSecret to a Kubernetes store writes Secrets of the store's remote namespace, as the
// store's ServiceAccount (the API server's RBAC decides): the whole source as a Secret of
// the source's type and labels, marked managed-by, and one key into a key of another
// Secret; a Secret Vigil did not create is not written without updatePolicy Replace; with
// deletionPolicy Delete, deleting the PushSecret deletes what it created and nothing else.
func TestPushSecret_PushesToKubernetes(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, remoteNS := h.NewNamespace(), h.NewNamespace()
	h.Create(kubernetesReader(ns, remoteNS, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"},
		Verbs: []string{"get", "create", "update", "delete"}})...)
	src := sourceSecret(ns, "app", map[string]string{"password": "kube-pushed-pw-5u6v", "user": "kube-user"})
	src.Labels = map[string]string{"team": "payments"}
	h.Create(src, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: remoteNS, Name: "theirs"},
		StringData: map[string]string{"owner": "someone-else"}})

	ps := pushSecret(ns, "copy", "remote", "app", pushEntry("", "app-copy", ""), pushEntry("password", "shared", "db-password"))
	ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
	foreign := pushSecret(ns, "foreign", "remote", "app", pushEntry("password", "theirs", "password"))
	foreign.Spec.UpdatePolicy = esv1alpha1.PushSecretUpdatePolicyIfNotExists
	h.Create(ps, foreign)
	key := types.NamespacedName{Namespace: ns, Name: "copy"}
	got := h.WaitPushed(key)

	copied := kubeSecret(h, remoteNS, "app-copy")
	if copied == nil || string(copied.Data["password"]) != "kube-pushed-pw-5u6v" || string(copied.Data["user"]) != "kube-user" ||
		len(copied.Data) != 2 {
		t.Fatalf("the remote Secret is not the source (found %v)", copied != nil)
	}
	if copied.Labels["managed-by"] != "external-secrets" || copied.Labels["team"] != "payments" || copied.Type != corev1.SecretTypeOpaque {
		t.Errorf("remote Secret labels %v, type %s; want managed-by=external-secrets and the source's", copied.Labels, copied.Type)
	}
	if sh := kubeSecret(h, remoteNS, "shared"); sh == nil || string(sh.Data["db-password"]) != "kube-pushed-pw-5u6v" || len(sh.Data) != 1 {
		t.Error("the key was not pushed into the remote Secret's db-password key")
	}
	if synced := got.Status.SyncedPushSecrets["SecretStore/remote"]; len(synced) != 2 {
		t.Errorf("status.syncedPushSecrets = %v", got.Status.SyncedPushSecrets)
	}
	h.WaitPushMessage(types.NamespacedName{Namespace: ns, Name: "foreign"}, "not managed by external-secrets")
	if th := kubeSecret(h, remoteNS, "theirs"); len(th.Data) != 1 || th.Labels["managed-by"] != "" {
		t.Error("a Secret Vigil did not create was written without updatePolicy Replace")
	}

	h.Delete(got)
	if kubeSecret(h, remoteNS, "app-copy") != nil || kubeSecret(h, remoteNS, "shared") != nil {
		t.Error("deleting the PushSecret (deletionPolicy Delete) left the Secrets it created")
	}
	if kubeSecret(h, remoteNS, "theirs") == nil {
		t.Error("a Secret Vigil did not create was deleted")
	}
}
