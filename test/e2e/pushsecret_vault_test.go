package e2e

import (
	"context"
	"encoding/json"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
)

// vaultKV reads a Vault secret as the admin: KV v2's latest data, current version and
// custom_metadata; KV v1's data (with ESO's custom_metadata mark inside it). Nil data when
// there is no secret.
func vaultKV(t *testing.T, ctx context.Context, mount, path string, v2 bool) (data map[string]any, version string, custom map[string]any) {
	t.Helper()
	if !v2 {
		s, err := vlt.Admin.Logical().ReadWithContext(ctx, mount+"/"+path)
		if err != nil {
			t.Fatal(err)
		}
		if s == nil {
			return nil, "", nil
		}
		custom, _ = s.Data["custom_metadata"].(map[string]any)
		return s.Data, "", custom
	}
	m, err := vlt.Admin.Logical().ReadWithContext(ctx, mount+"/metadata/"+path)
	if err != nil {
		t.Fatal(err)
	}
	if m == nil {
		return nil, "", nil
	}
	custom, _ = m.Data["custom_metadata"].(map[string]any)
	version = m.Data["current_version"].(json.Number).String()
	s, err := vlt.Admin.Logical().ReadWithContext(ctx, mount+"/data/"+path)
	if err != nil {
		t.Fatal(err)
	}
	if s != nil {
		data, _ = s.Data["data"].(map[string]any)
	}
	return data, version, custom
}

// A PushSecret to Vault KV v2 and KV v1 stores (the Vault dev server): a key into a
// property and the whole Secret as the secret's data, marked managed-by=external-secrets
// (v2's custom_metadata, v1's custom_metadata key, as ESO); pushing again unchanged makes no
// new KV v2 version; a secret Vigil did not create is not written without updatePolicy
// Replace; deletionPolicy Delete deletes what it created (every version) and nothing else.
func TestPushSecret_PushesToVault(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := h.Ctx
	ns := h.NewNamespace()
	kv1 := "kv1-" + ns
	if err := vlt.Admin.Sys().MountWithContext(ctx, kv1, &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vlt.Admin.Sys().UnmountWithContext(context.Background(), kv1) })
	h.Create(vaultTokenStore(t, ctx, ns, "v2", "secret", esv1.VaultKVStoreV2)...)
	h.Create(vaultTokenStore(t, ctx, ns, "v1", kv1, esv1.VaultKVStoreV1)...)
	theirs := ns + "/push/theirs"
	if err := vlt.KVv2Put(ctx, "secret", theirs, map[string]any{"owner": "someone-else"}); err != nil {
		t.Fatal(err)
	}
	h.Create(sourceSecret(ns, "app", map[string]string{"password": "vault-pushed-pw-7w8x", "user": "vault-user"}))

	app, all := ns+"/push/app", ns+"/push/all"
	ps := pushSecret(ns, "vault", "v2", "app", pushEntry("password", app, "password"), pushEntry("", all, ""))
	ps.Spec.SecretStoreRefs = append(ps.Spec.SecretStoreRefs, esv1alpha1.PushSecretStoreRef{Name: "v1", Kind: esv1.SecretStoreKind})
	ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
	foreign := pushSecret(ns, "foreign", "v2", "app", pushEntry("password", theirs, "password"))
	foreign.Spec.UpdatePolicy = esv1alpha1.PushSecretUpdatePolicyIfNotExists
	h.Create(ps, foreign)
	key := types.NamespacedName{Namespace: ns, Name: "vault"}
	got := h.WaitPushed(key)

	data, version, custom := vaultKV(t, ctx, "secret", app, true)
	if data["password"] != "vault-pushed-pw-7w8x" || len(data) != 1 || custom["managed-by"] != "external-secrets" {
		t.Errorf("KV v2 %s: %d keys, custom_metadata %v; want the password, marked managed-by", app, len(data), custom)
	}
	if data, _, _ := vaultKV(t, ctx, "secret", all, true); data["password"] != "vault-pushed-pw-7w8x" || data["user"] != "vault-user" || len(data) != 2 {
		t.Errorf("KV v2 %s is not the whole Secret (%d keys)", all, len(data))
	}
	if data, _, mark := vaultKV(t, ctx, kv1, all, false); data["user"] != "vault-user" || mark["managed-by"] != "external-secrets" {
		t.Errorf("KV v1 %s: %d keys, mark %v; want the whole Secret, marked managed-by", all, len(data), mark)
	}
	if synced := got.Status.SyncedPushSecrets; len(synced["SecretStore/v2"]) != 2 || len(synced["SecretStore/v1"]) != 2 {
		t.Errorf("status.syncedPushSecrets = %v", synced)
	}

	h.ForcePush(key)
	h.WaitPushedSince(key, got.Status.SyncedResourceVersion)
	if _, again, _ := vaultKV(t, ctx, "secret", app, true); again != version {
		t.Errorf("pushing an unchanged value made a new KV v2 version (%s, was %s)", again, version)
	}
	h.WaitPushMessage(types.NamespacedName{Namespace: ns, Name: "foreign"}, "not managed by external-secrets")
	if data, _, custom := vaultKV(t, ctx, "secret", theirs, true); len(data) != 1 || custom["managed-by"] != nil {
		t.Error("a Vault secret Vigil did not create was written without updatePolicy Replace")
	}

	h.Delete(got)
	for _, at := range []struct {
		mount, path string
		v2          bool
	}{{"secret", app, true}, {"secret", all, true}, {kv1, all, false}} {
		if data, _, _ := vaultKV(t, ctx, at.mount, at.path, at.v2); data != nil {
			t.Errorf("deleting the PushSecret (deletionPolicy Delete) left %s/%s", at.mount, at.path)
		}
	}
	if data, _, _ := vaultKV(t, ctx, "secret", theirs, true); data == nil {
		t.Error("a Vault secret Vigil did not create was deleted")
	}
}
