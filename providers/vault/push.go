package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vigil-dev/vigil/providers"
)

// The write side (PushSecret), as ESO's Vault provider does it: a secret Vigil creates is
// marked managed-by=external-secrets — in KV v2's custom_metadata, in KV v1 (no metadata) as
// a "custom_metadata" object inside the secret's data — and only a marked secret is
// overwritten (unless updatePolicy Replace) or deleted. A push whose data equals what is
// stored writes nothing, so it makes no new KV v2 version.

// v1Marker is the data key under which KV v1 secrets carry ESO's ownership mark.
const v1Marker = "custom_metadata"

// remote is what a push reads before it writes.
type remote struct {
	exists  bool           // a secret (for KV v2: its metadata) is there
	managed bool           // marked managed-by=external-secrets
	data    map[string]any // its current data (KV v1: without the mark); nil when none
	version json.Number    // KV v2 current_version: the check-and-set of the next write
	custom  map[string]any // KV v2 custom_metadata, kept when the mark is added
}

// pushPath splits a remote key as a read does, refusing '.' and '..' segments: a write must
// land at the path the key names and the guardrails judged.
func (c *Client) pushPath(key string) (mount, rest string, err error) {
	for _, seg := range strings.Split(strings.Trim(key, "/"), "/") {
		if seg == "." || seg == ".." {
			return "", "", providers.Configf("key %q has a %q segment; write the path without it", key, seg)
		}
	}
	return c.path(key)
}

func (c *Client) readRemote(ctx context.Context, key, mount, rest string) (remote, error) {
	if !c.kv2 {
		s, err := c.call(ctx, "ReadSecretData", func() (*vaultapi.Secret, error) {
			return c.api.Logical().ReadWithContext(ctx, mount+"/"+rest)
		})
		if err != nil || s == nil || s.Data == nil {
			return remote{}, c.withKey(err, key, "read")
		}
		r := remote{exists: true, data: maps.Clone(s.Data)}
		mark, _ := r.data[v1Marker].(map[string]any)
		r.managed = mark[providers.ManagedByKey] == providers.ManagedByValue
		delete(r.data, v1Marker)
		return r, nil
	}
	m, err := c.call(ctx, "ReadSecretMetadata", func() (*vaultapi.Secret, error) {
		return c.api.Logical().ReadWithContext(ctx, mount+"/metadata/"+rest)
	})
	if err != nil || m == nil || m.Data == nil {
		return remote{}, c.withKey(err, key, "read")
	}
	r := remote{exists: true, version: "0"}
	r.custom, _ = m.Data["custom_metadata"].(map[string]any)
	r.managed = r.custom[providers.ManagedByKey] == providers.ManagedByValue
	if v, ok := m.Data["current_version"].(json.Number); ok {
		r.version = v
	}
	if r.version == "0" {
		return r, nil
	}
	s, err := c.call(ctx, "ReadSecretData", func() (*vaultapi.Secret, error) {
		return c.api.Logical().ReadWithDataWithContext(ctx, mount+"/data/"+rest, nil)
	})
	if err != nil {
		return remote{}, c.withKey(err, key, "read")
	}
	if s != nil {
		r.data, _ = s.Data["data"].(map[string]any) // nil for a deleted or destroyed version
	}
	return r, nil
}

// next is the data a push stores: the value under property, the other properties kept; or,
// without a property, the value itself, which must then be a JSON object (ESO's rule).
func next(current map[string]any, ref providers.PushRef, value []byte) (map[string]any, error) {
	if ref.Property != "" {
		out := maps.Clone(current)
		if out == nil {
			out = map[string]any{}
		}
		out[ref.Property] = string(value)
		return out, nil
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber() // as Vault's client decodes what it reads: equal data compares equal
	if err := dec.Decode(&out); err != nil || out == nil || dec.More() {
		// json's error text can quote the value: it is not repeated.
		return nil, providers.Configf("key %s: the pushed value is not a JSON object; set remoteRef.property to store "+
			"it under one property of the Vault secret", ref)
	}
	return out, nil
}

// PushSecret implements providers.Pusher.
func (c *Client) PushSecret(ctx context.Context, ref providers.PushRef, value []byte, overwrite bool) error {
	mount, rest, err := c.pushPath(ref.Key)
	if err != nil {
		return err
	}
	r, err := c.readRemote(ctx, ref.Key, mount, rest)
	if err != nil {
		return err
	}
	if r.exists && !r.managed && !overwrite {
		return providers.NotManaged(ref)
	}
	data, err := next(r.data, ref, value)
	if err != nil {
		return err
	}
	changed := r.data == nil || !reflect.DeepEqual(r.data, data)
	if !c.kv2 {
		if !changed && r.managed {
			return nil
		}
		return c.writeV1(ctx, ref.Key, mount, rest, r, data)
	}
	return c.writeV2(ctx, ref.Key, mount, rest, r, data, changed)
}

// writeV1 stores data with the ownership mark (KV v1 keeps no versions).
func (c *Client) writeV1(ctx context.Context, key, mount, rest string, r remote, data map[string]any) error {
	body := maps.Clone(data)
	body[v1Marker] = map[string]any{providers.ManagedByKey: providers.ManagedByValue}
	_, err := c.call(ctx, "WriteSecretData", func() (*vaultapi.Secret, error) {
		return c.api.Logical().WriteWithContext(ctx, mount+"/"+rest, body)
	})
	return c.withKey(err, key, r.capability())
}

// capability is the one a write of the secret needs in the identity's Vault policy.
func (r remote) capability() string {
	if r.exists {
		return "update"
	}
	return "create"
}

// writeV2 writes a new version when the data changed, with check-and-set on the version
// read (a concurrent writer, or a secret created since the read, makes the write fail
// rather than be overwritten), and marks the secret's custom_metadata, keeping its other
// entries. A new secret gets its data first: the mark never lands on a secret someone else
// created in between.
func (c *Client) writeV2(ctx context.Context, key, mount, rest string, r remote, data map[string]any,
	changed bool) error {
	if changed {
		body := map[string]any{"data": data, "options": map[string]any{"cas": r.version}}
		_, err := c.call(ctx, "WriteSecretData", func() (*vaultapi.Secret, error) {
			return c.api.Logical().WriteWithContext(ctx, mount+"/data/"+rest, body)
		})
		if err != nil {
			return c.withKey(err, key, r.capability())
		}
	}
	if r.managed {
		return nil
	}
	custom := maps.Clone(r.custom)
	if custom == nil {
		custom = map[string]any{}
	}
	custom[providers.ManagedByKey] = providers.ManagedByValue
	_, err := c.call(ctx, "WriteSecretMetadata", func() (*vaultapi.Secret, error) {
		return c.api.Logical().WriteWithContext(ctx, mount+"/metadata/"+rest, map[string]any{"custom_metadata": custom})
	})
	return c.withKey(err, key, "update")
}

// SecretExists implements providers.Pusher: the secret has data (and the property, when set).
func (c *Client) SecretExists(ctx context.Context, ref providers.PushRef) (bool, error) {
	mount, rest, err := c.pushPath(ref.Key)
	if err != nil {
		return false, err
	}
	r, err := c.readRemote(ctx, ref.Key, mount, rest)
	if err != nil || r.data == nil {
		return false, err
	}
	if ref.Property == "" {
		return true, nil
	}
	_, ok := r.data[ref.Property]
	return ok, nil
}

// DeleteSecret implements providers.Pusher: the property (the secret when it was the last
// one), or the secret — for KV v2 its metadata, with every version. Only a marked secret.
func (c *Client) DeleteSecret(ctx context.Context, ref providers.PushRef) error {
	mount, rest, err := c.pushPath(ref.Key)
	if err != nil {
		return err
	}
	r, err := c.readRemote(ctx, ref.Key, mount, rest)
	if err != nil || !r.exists {
		return err
	}
	if !r.managed {
		return fmt.Errorf("key %s: %w; it is not deleted", ref, providers.ErrNotManaged)
	}
	if ref.Property != "" && r.data != nil {
		if _, ok := r.data[ref.Property]; !ok {
			return nil
		}
		left := maps.Clone(r.data)
		delete(left, ref.Property)
		if len(left) > 0 {
			if !c.kv2 {
				return c.writeV1(ctx, ref.Key, mount, rest, r, left)
			}
			return c.writeV2(ctx, ref.Key, mount, rest, r, left, true)
		}
	}
	p := mount + "/" + rest
	if c.kv2 {
		p = mount + "/metadata/" + rest
	}
	_, err = c.call(ctx, "DeleteSecret", func() (*vaultapi.Secret, error) {
		return c.api.Logical().DeleteWithContext(ctx, p)
	})
	return c.withKey(err, ref.Key, "delete")
}

var _ providers.Pusher = (*Client)(nil)
