package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// A store logging in with Vault's userpass method syncs through the controller: the
// password comes from a Secret of the store's namespace, the ExternalSecret gets the KV
// value. A store with a wrong password is not Ready, and its condition names the login path
// and Vault's status, never the password.
func TestVault_UserPassStoreSyncs(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	mount := "userpass-" + ns
	if err := vlt.Admin.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &vaultapi.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if err := vlt.Policy(ctx, "read-"+ns, fmt.Sprintf(`path "secret/data/%s/*" { capabilities = ["read"] }`, ns)); err != nil {
		t.Fatal(err)
	}
	password, wrong, value := "userpass-pw-"+ns, "userpass-wrong-"+ns, "userpass-value-"+ns
	for _, v := range []string{password, wrong, value} {
		rememberValue(v)
	}
	if _, err := vlt.Admin.Logical().WriteWithContext(ctx, "auth/"+mount+"/users/app",
		map[string]any{"password": password, "token_policies": "read-" + ns}); err != nil {
		t.Fatal(err)
	}
	if err := vlt.KVv2Put(ctx, "secret", ns+"/db", map[string]any{"password": value}); err != nil {
		t.Fatal(err)
	}
	path := "secret"
	store := func(name, secret string) *esv1.SecretStore {
		return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: esv1.SecretStoreSpec{
			Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
				Server: vlt.URL, Path: &path, Version: esv1.VaultKVStoreV2,
				Auth: &esv1.VaultAuth{UserPass: &esv1.VaultUserPassAuth{Path: mount, Username: "app",
					SecretRef: esv1.SecretKeySelector{Name: secret, Key: "password"}}},
			}},
		}}
	}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind},
		Data: []esv1.ExternalSecretData{{SecretKey: "password",
			RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/db", Property: "password"}}},
	}}
	h.Create(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-user"}, StringData: map[string]string{"password": password}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-wrong"}, StringData: map[string]string{"password": wrong}},
		store("vault", "vault-user"), store("vault-wrong", "vault-wrong"), es)
	h.WaitStoreReason(types.NamespacedName{Namespace: ns, Name: "vault"}, esv1.ReasonStoreValid)
	h.WaitSecretValue(ns, "db", "password", value)

	bad := &esv1.SecretStore{}
	h.WaitStore(types.NamespacedName{Namespace: ns, Name: "vault-wrong"}, bad, "Ready=False naming the login",
		func(c *metav1.Condition) bool {
			return c.Status == metav1.ConditionFalse && strings.Contains(c.Message, "auth/"+mount+"/login/app")
		})
	msg := apimeta.FindStatusCondition(bad.Status.Conditions, esv1.ConditionReady).Message
	if strings.Contains(msg, wrong) || strings.Contains(msg, password) || !strings.Contains(msg, "400") {
		t.Errorf("condition of the store with a wrong password: %q, want Vault's status 400 and no password", msg)
	}
}
