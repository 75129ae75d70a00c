package gcp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vigil-dev/vigil/providers"
)

func pusher(t *testing.T) providers.Pusher {
	t.Helper()
	return newClient(t, store()).(providers.Pusher)
}

func remote(t *testing.T, id string) (map[string]string, []string) {
	t.Helper()
	labels, values, ok := sm.Secret(project, "", id)
	if !ok {
		t.Fatalf("secret %s does not exist", id)
	}
	return labels, values
}

// A push creates the secret with ESO's managed-by label and one version; pushing the same
// value again adds no version, a new value adds one.
func TestPush_CreatesManagedSecretAndVersionsOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	p := pusher(t)
	ref := providers.PushRef{Key: "pushed"}
	for _, v := range []string{"v1", "v1", "v2", "v2"} {
		if err := p.PushSecret(ctx, ref, []byte(v), false); err != nil {
			t.Fatalf("push %s: %v", v, err)
		}
	}
	labels, values := remote(t, "pushed")
	if labels[providers.ManagedByKey] != providers.ManagedByValue {
		t.Errorf("labels %v, want %s=%s", labels, providers.ManagedByKey, providers.ManagedByValue)
	}
	if len(values) != 2 || values[0] != "v1" || values[1] != "v2" {
		t.Errorf("versions %q, want [v1 v2]", values)
	}
	if ok, err := p.SecretExists(ctx, ref); !ok || err != nil {
		t.Errorf("SecretExists = %v, %v", ok, err)
	}
	if ok, err := p.SecretExists(ctx, providers.PushRef{Key: "never-pushed"}); ok || err != nil {
		t.Errorf("SecretExists of a missing secret = %v, %v", ok, err)
	}
}

// A property push merges into the JSON object of the latest version and keeps the others.
func TestPush_PropertyMerges(t *testing.T) {
	ctx := context.Background()
	p := pusher(t)
	for prop, v := range map[string]string{"user": "app", "password": "s3cret"} {
		if err := p.PushSecret(ctx, providers.PushRef{Key: "merged", Property: prop}, []byte(v), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.PushSecret(ctx, providers.PushRef{Key: "merged", Property: "user"}, []byte("app"), false); err != nil {
		t.Fatal(err)
	}
	_, values := remote(t, "merged")
	got := values[len(values)-1]
	for _, prop := range []string{"user", "password"} {
		if v, err := providers.SelectProperty([]byte(got), providers.Ref{Key: "merged"}, prop); err != nil || len(v) == 0 {
			t.Errorf("property %s missing from the merged value", prop)
		}
	}
	if len(values) != 2 {
		t.Errorf("%d versions, want 2 (the unchanged property added none)", len(values))
	}
	if ok, _ := p.SecretExists(ctx, providers.PushRef{Key: "merged", Property: "password"}); !ok {
		t.Errorf("SecretExists of a pushed property is false")
	}
	if ok, _ := p.SecretExists(ctx, providers.PushRef{Key: "merged", Property: "nope"}); ok {
		t.Errorf("SecretExists of a missing property is true")
	}
}

// A secret Vigil did not create is written only with overwrite (updatePolicy Replace) and
// never deleted; its ownership is not taken over.
func TestPush_ForeignSecretIsLeftAlone(t *testing.T) {
	ctx := context.Background()
	sm.Put(project, "", "foreign", map[string]string{"owner": "someone"}, "theirs")
	p := pusher(t)
	ref := providers.PushRef{Key: "foreign"}
	if err := p.PushSecret(ctx, ref, []byte("ours"), false); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("push onto a foreign secret: %v, want ErrNotManaged", err)
	}
	if _, values := remote(t, "foreign"); len(values) != 1 {
		t.Errorf("a refused push added a version: %d versions", len(values))
	}
	if err := p.DeleteSecret(ctx, ref); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("delete of a foreign secret: %v, want ErrNotManaged", err)
	}
	if err := p.PushSecret(ctx, ref, []byte("ours"), true); err != nil {
		t.Fatalf("push with overwrite: %v", err)
	}
	labels, values := remote(t, "foreign")
	if len(values) != 2 || values[1] != "ours" {
		t.Errorf("versions after overwrite %q", values)
	}
	if _, ok := labels[providers.ManagedByKey]; ok {
		t.Errorf("overwrite took over the secret's ownership: labels %v", labels)
	}
	if err := p.DeleteSecret(ctx, ref); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("delete after overwrite: %v, want ErrNotManaged", err)
	}
}

// DeleteSecret removes a managed secret, or one property of it (the secret with its last
// property); a missing secret is no error.
func TestPush_Delete(t *testing.T) {
	ctx := context.Background()
	p := pusher(t)
	if err := p.PushSecret(ctx, providers.PushRef{Key: "to-delete"}, []byte("v"), false); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "to-delete"}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := sm.Secret(project, "", "to-delete"); ok {
		t.Errorf("the managed secret still exists")
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "to-delete"}); err != nil {
		t.Errorf("delete of a missing secret: %v", err)
	}
	for _, prop := range []string{"a", "b"} {
		if err := p.PushSecret(ctx, providers.PushRef{Key: "props", Property: prop}, []byte(prop), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "props", Property: "a"}); err != nil {
		t.Fatal(err)
	}
	_, values := remote(t, "props")
	if got := values[len(values)-1]; got != `{"b":"b"}` {
		t.Errorf("after deleting property a: %s", got)
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "props", Property: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := sm.Secret(project, "", "props"); ok {
		t.Errorf("the secret outlived its last property")
	}
}

// Secret Manager holds at most 64 KiB a version: a larger push is refused by Vigil with the
// limit named, before any write.
func TestPush_PayloadLimit(t *testing.T) {
	err := pusher(t).PushSecret(context.Background(), providers.PushRef{Key: "too-big"}, make([]byte, 64<<10+1), false)
	if !errors.Is(err, providers.ErrLimit) {
		t.Errorf("push of 64 KiB + 1: %v, want a limit error", err)
	}
	if _, _, ok := sm.Secret(project, "", "too-big"); ok {
		t.Errorf("the secret was created")
	}
}
