package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// A Vault KV v2 secret synced end to end with Kubernetes auth: Vigil mints a token for the
// store's ServiceAccount, Vault reviews it with the API server (TokenReview) and admits it
// through a role bound to that ServiceAccount; a new version in Vault reaches the Secret.
func TestVault_KVv2WithKubernetesAuth(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	mount := "k8s-" + ns
	if err := vlt.KubernetesAuth(ctx, cp, mount, ns); err != nil {
		t.Fatal(err)
	}
	if err := vlt.Policy(ctx, "read-"+ns, fmt.Sprintf(`path "secret/data/%s/*" { capabilities = ["read"] }`, ns)); err != nil {
		t.Fatal(err)
	}
	if err := vlt.KubernetesRole(ctx, mount, "app", ns, "vault-app", "read-"+ns); err != nil {
		t.Fatal(err)
	}
	user, pass := "vault-user-"+ns, "vault-pass-1-"+ns
	rememberValue(user)
	rememberValue(pass)
	if err := vlt.KVv2Put(ctx, "secret", ns+"/db", map[string]any{"username": user, "password": pass}); err != nil {
		t.Fatal(err)
	}
	path := "secret"
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault"}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
			Server: vlt.URL, Path: &path, Version: esv1.VaultKVStoreV2,
			Auth: &esv1.VaultAuth{Kubernetes: &esv1.VaultKubernetesAuth{Path: mount, Role: "app", ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "vault-app"}}},
		}},
	}}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
		Data:           []esv1.ExternalSecretData{{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/db", Property: "password"}}},
		DataFrom:       []esv1.ExternalSecretDataFromRemoteRef{{Extract: &esv1.ExternalSecretDataRemoteRef{Key: ns + "/db"}}},
	}}
	h.Create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-app"}}, store, es)
	h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "vault"}, esv1.ReasonStoreValid)
	s := h.WaitSecretValue(ns, "db", "password", pass)
	if string(s.Data["username"]) != user {
		t.Errorf("dataFrom.extract did not copy username from Vault")
	}

	rotated := "vault-pass-2-" + ns
	rememberValue(rotated)
	if err := vlt.KVv2Put(ctx, "secret", ns+"/db", map[string]any{"username": user, "password": rotated}); err != nil {
		t.Fatal(err)
	}
	h.ForceSync(client.ObjectKeyFromObject(es))
	h.WaitSecretValue(ns, "db", "password", rotated)
}

// The Kubernetes provider copies a Secret of another namespace with the identity of a
// ServiceAccount of the store's namespace; the API server's RBAC decides what it may read.
func TestKubernetesProvider_ReadsAnotherNamespace(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns, remote := h.NewNamespace(), h.NewNamespace()
	token := "remote-token-" + ns
	rememberValue(token)
	objs := kubernetesReader(ns, remote, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"shared"}})
	h.Create(append(objs,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: remote, Name: "shared"}, StringData: map[string]string{"api-token": token}},
		&esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "copy"}, Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "remote", Kind: esv1.SecretStoreKind},
			Data:           []esv1.ExternalSecretData{{SecretKey: "token", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "shared", Property: "api-token"}}},
		}},
		&esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "not-granted"}, Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "remote", Kind: esv1.SecretStoreKind},
			Data:           []esv1.ExternalSecretData{{SecretKey: "x", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "other"}}},
		}},
	)...)
	h.WaitSecretValue(ns, "copy", "token", token)
	es := h.WaitReason(types.NamespacedName{Namespace: ns, Name: "not-granted"}, esv1.ReasonSecretSyncedError)
	if msg := readyMessage(es); !strings.Contains(msg, "Forbidden") {
		t.Errorf("reading a Secret the role does not grant: %q, want the API server's Forbidden", msg)
	}
}

// Remote data over the 1 MiB Secret limit is refused before any write, with a message that
// says what to do; the existing Secret keeps its data.
func TestBadInput_ValuesOverSecretLimit(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	tok, err := vlt.Admin.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{Policies: []string{"root"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	rememberValue(tok.Auth.ClientToken)
	if err := vlt.KVv2Put(ctx, "secret", ns+"/big", map[string]any{"a": "small-a", "b": "small-b"}); err != nil {
		t.Fatal(err)
	}
	path := "secret"
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-token"}, StringData: map[string]string{"token": tok.Auth.ClientToken}}, &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault"}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
		Server: vlt.URL, Path: &path, Version: esv1.VaultKVStoreV2,
		Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}}}}}}, &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "big"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
		DataFrom:       []esv1.ExternalSecretDataFromRemoteRef{{Extract: &esv1.ExternalSecretDataRemoteRef{Key: ns + "/big"}}},
	}})
	h.WaitSecretValue(ns, "big", "a", "small-a")
	large := strings.Repeat("x", 600*1024)
	if err := vlt.KVv2Put(ctx, "secret", ns+"/big", map[string]any{"a": large, "b": large}); err != nil {
		t.Fatal(err)
	}
	key := types.NamespacedName{Namespace: ns, Name: "big"}
	h.ForceSync(key)
	h.WaitMessage(key, "over Kubernetes' limit of 1048576 (1 MiB): select fewer keys")
	if s := h.Secret(ns, "big"); string(s.Data["a"]) != "small-a" {
		t.Errorf("the Secret lost its data when the remote data grew too large")
	}
}
