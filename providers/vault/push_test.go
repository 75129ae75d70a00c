package vault_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/vault"
)

// pusher returns a Pusher for the mount, logged in with a token that may write there (and
// nothing else).
func pusher(t *testing.T, mount string, version esv1.VaultKVStoreVersion) providers.Pusher {
	t.Helper()
	ctx := context.Background()
	policy := `path "` + mount + `/*" { capabilities = ["create", "read", "update", "delete", "list"] }`
	if err := vlt.Policy(ctx, "pusher-"+mount, policy); err != nil {
		t.Fatal(err)
	}
	tok, err := vlt.Admin.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{
		Policies: []string{"pusher-" + mount}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	name := "push-token-" + strings.ToLower(t.Name())
	createSecret(t, name, map[string]string{"token": tok.Auth.ClientToken})
	c := newClient(t, store(func(p *esv1.VaultProvider) {
		p.Path, p.Version = ptr(mount), version
		p.Auth.TokenSecretRef.Name = name
	}), vault.Options{})
	return c.(providers.Pusher)
}

// kv2State reads a KV v2 secret as an admin: its latest data, current version and custom
// metadata (nil data when the secret is gone).
func kv2State(t *testing.T, mount, path string) (data map[string]any, version string, custom map[string]any) {
	t.Helper()
	m, err := vlt.Admin.Logical().Read(mount + "/metadata/" + path)
	if err != nil {
		t.Fatal(err)
	}
	if m == nil {
		return nil, "", nil
	}
	custom, _ = m.Data["custom_metadata"].(map[string]any)
	version = m.Data["current_version"].(json.Number).String()
	s, err := vlt.Admin.Logical().Read(mount + "/data/" + path)
	if err != nil {
		t.Fatal(err)
	}
	if s != nil {
		data, _ = s.Data["data"].(map[string]any)
	}
	return data, version, custom
}

func mustPush(t *testing.T, p providers.Pusher, ref providers.PushRef, value string, overwrite bool) {
	t.Helper()
	if err := p.PushSecret(context.Background(), ref, []byte(value), overwrite); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

// KV v2: a new secret is created and marked in custom_metadata; pushing the same data again
// makes no new version; a property is merged into the other properties; the mount's
// check-and-set requirement is met.
func TestPushKVv2CreatesMergesAndKeepsVersions(t *testing.T) {
	ctx := context.Background()
	if err := vlt.Admin.Sys().MountWithContext(ctx, "kvcas", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	write(t, vlt.Admin, "kvcas/config", map[string]any{"cas_required": true})
	p := pusher(t, "kvcas", esv1.VaultKVStoreV2)
	ref := providers.PushRef{Key: "app/db"}

	mustPush(t, p, ref, `{"user":"app","password":"s3cret"}`, false)
	data, version, custom := kv2State(t, "kvcas", "app/db")
	if !reflect.DeepEqual(data, map[string]any{"user": "app", "password": "s3cret"}) || version != "1" ||
		custom[providers.ManagedByKey] != providers.ManagedByValue {
		t.Fatalf("after the first push: data %v, version %s, custom_metadata %v", data, version, custom)
	}
	mustPush(t, p, ref, `{"password":"s3cret","user":"app"}`, false)
	if _, version, _ = kv2State(t, "kvcas", "app/db"); version != "1" {
		t.Errorf("an unchanged push made version %s, want none (1)", version)
	}
	mustPush(t, p, providers.PushRef{Key: "app/db", Property: "port"}, "5432", false)
	mustPush(t, p, providers.PushRef{Key: "app/db", Property: "port"}, "5432", false)
	data, version, _ = kv2State(t, "kvcas", "app/db")
	if !reflect.DeepEqual(data, map[string]any{"user": "app", "password": "s3cret", "port": "5432"}) || version != "2" {
		t.Errorf("after pushing property port twice: data %v, version %s, want the merge in one version (2)", data, version)
	}
	for ref, want := range map[providers.PushRef]bool{
		{Key: "app/db"}: true, {Key: "app/db", Property: "port"}: true, {Key: "app/db", Property: "host"}: false,
		{Key: "app/none"}: false,
	} {
		if got, err := p.SecretExists(ctx, ref); err != nil || got != want {
			t.Errorf("SecretExists(%s) = %v, %v; want %v", ref, got, err, want)
		}
	}
	err := p.PushSecret(ctx, providers.PushRef{Key: "app/raw"}, []byte("not-json-Va1ue"), false)
	if err == nil || strings.Contains(err.Error(), "not-json-Va1ue") || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("a value that is not a JSON object, without property: %v", err)
	}
}

// A secret someone else wrote is neither overwritten (without updatePolicy Replace) nor
// deleted; with Replace it is written and marked, its other custom_metadata kept.
func TestPushKVv2LeavesOthersSecrets(t *testing.T) {
	ctx := context.Background()
	p := pusher(t, "secret", esv1.VaultKVStoreV2)
	put(t, "secret", true, "theirs/api", `{"token":"theirs"}`)
	if err := vlt.Admin.KVv2("secret").PutMetadata(ctx, "theirs/api", vaultapi.KVMetadataPutInput{
		CustomMetadata: map[string]any{"owner": "team-a"}}); err != nil {
		t.Fatal(err)
	}
	ref := providers.PushRef{Key: "theirs/api"}
	if err := p.PushSecret(ctx, ref, []byte(`{"token":"mine"}`), false); !errors.Is(err, providers.ErrNotManaged) {
		t.Fatalf("push over a secret not marked: %v, want ErrNotManaged", err)
	}
	if err := p.DeleteSecret(ctx, ref); !errors.Is(err, providers.ErrNotManaged) {
		t.Fatalf("delete of a secret not marked: %v, want ErrNotManaged", err)
	}
	if data, version, _ := kv2State(t, "secret", "theirs/api"); data["token"] != "theirs" || version != "1" {
		t.Fatalf("the secret changed: %v, version %s", data, version)
	}
	mustPush(t, p, ref, `{"token":"mine"}`, true)
	data, _, custom := kv2State(t, "secret", "theirs/api")
	if data["token"] != "mine" || custom["owner"] != "team-a" || custom[providers.ManagedByKey] != providers.ManagedByValue {
		t.Errorf("after Replace: data %v, custom_metadata %v, want the value, owner kept and managed-by added", data, custom)
	}
}

// Deleting a property keeps the others; deleting the last removes the secret with its
// metadata and every version; deleting what is not there is no error.
func TestPushKVv2Delete(t *testing.T) {
	ctx := context.Background()
	p := pusher(t, "secret", esv1.VaultKVStoreV2)
	mustPush(t, p, providers.PushRef{Key: "del/app", Property: "a"}, "1", false)
	mustPush(t, p, providers.PushRef{Key: "del/app", Property: "b"}, "2", false)
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "del/app", Property: "a"}); err != nil {
		t.Fatal(err)
	}
	if data, _, _ := kv2State(t, "secret", "del/app"); !reflect.DeepEqual(data, map[string]any{"b": "2"}) {
		t.Errorf("after deleting property a: %v", data)
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "del/app", Property: "b"}); err != nil {
		t.Fatal(err)
	}
	if data, version, _ := kv2State(t, "secret", "del/app"); data != nil || version != "" {
		t.Errorf("after deleting the last property the secret is still there: %v, version %s", data, version)
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "del/app"}); err != nil {
		t.Errorf("deleting a secret that is gone: %v", err)
	}
}

// KV v1, as ESO: the mark is a custom_metadata object inside the data; a push merges
// properties, leaves unmarked secrets alone, and deletes only marked ones.
func TestPushKVv1(t *testing.T) {
	ctx := context.Background()
	p := pusher(t, "kv1", esv1.VaultKVStoreV1)
	read := func(path string) map[string]any {
		s, err := vlt.Admin.Logical().Read("kv1/" + path)
		if err != nil {
			t.Fatal(err)
		}
		if s == nil {
			return nil
		}
		return s.Data
	}
	mark := map[string]any{providers.ManagedByKey: providers.ManagedByValue}
	mustPush(t, p, providers.PushRef{Key: "push/app"}, `{"user":"app"}`, false)
	mustPush(t, p, providers.PushRef{Key: "push/app", Property: "password"}, "pw", false)
	if got := read("push/app"); !reflect.DeepEqual(got, map[string]any{"user": "app", "password": "pw", "custom_metadata": mark}) {
		t.Errorf("KV v1 data after two pushes: %v", got)
	}
	if ok, err := p.SecretExists(ctx, providers.PushRef{Key: "push/app", Property: "password"}); err != nil || !ok {
		t.Errorf("SecretExists(password) = %v, %v", ok, err)
	}

	put(t, "kv1", false, "push/theirs", `{"k":"theirs"}`)
	if err := p.PushSecret(ctx, providers.PushRef{Key: "push/theirs"}, []byte(`{"k":"mine"}`), false); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("push over an unmarked KV v1 secret: %v, want ErrNotManaged", err)
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "push/theirs"}); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("delete of an unmarked KV v1 secret: %v, want ErrNotManaged", err)
	}
	if got := read("push/theirs"); got["k"] != "theirs" {
		t.Errorf("the unmarked secret changed: %v", got)
	}

	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "push/app", Property: "user"}); err != nil {
		t.Fatal(err)
	}
	if got := read("push/app"); !reflect.DeepEqual(got, map[string]any{"password": "pw", "custom_metadata": mark}) {
		t.Errorf("after deleting property user: %v", got)
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "push/app"}); err != nil {
		t.Fatal(err)
	}
	if got := read("push/app"); got != nil {
		t.Errorf("after delete: %v, want the secret gone", got)
	}
}
