package azure

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/vigil-dev/vigil/providers"
)

// The write side (PushSecret), with ESO's ownership mark: what Vigil creates carries the tag
// managed-by=external-secrets. Key Vault keeps tags per version, so every version Vigil
// writes carries the current version's tags forward (ESO drops them), with data[].metadata's
// tags on top. An object without the mark is written only with overwrite (updatePolicy
// Replace), and then does not get the mark: deletionPolicy Delete never removes what Vigil
// did not create (ESO refuses such a push even with Replace). A push equal to what is stored
// writes nothing; one that changes only tags, contentType or expiry updates the current
// version's properties instead of adding a version. Secrets here, keys in push_key.go;
// certificates are not pushed.

// Key Vault's limits (https://learn.microsoft.com/azure/key-vault/general/service-limits and
// about-keys-secrets-certificates), checked before a request so that the refusal names them.
const (
	maxSecretBytes  = 25 * 1024
	maxTags         = 15
	maxTagNameLen   = 512
	maxTagValueLen  = 256
	maxContentTypeL = 255
)

// pushSpec is ESO's PushSecretMetadataSpec for Azure Key Vault.
type pushSpec struct {
	// ExpirationDate (RFC 3339) sets the secret version's expiry ("exp").
	ExpirationDate string `json:"expirationDate,omitempty"`
	// ContentType sets the secret's contentType; empty keeps the current one.
	ContentType string `json:"contentType,omitempty"`
	// Tags are set on what is written (the managed-by tag is Vigil's).
	Tags map[string]string `json:"tags,omitempty"`

	expires *time.Time
}

const pushFields = "expirationDate, contentType, tags"

// pushMetadata parses and checks data[].metadata.
func pushMetadata(ref providers.PushRef) (pushSpec, error) {
	spec, err := providers.ParsePushMetadata[pushSpec](ref.Metadata, pushFields)
	if err != nil {
		return spec, err
	}
	if spec.ExpirationDate != "" {
		t, err := time.Parse(time.RFC3339, spec.ExpirationDate)
		if err != nil {
			return spec, providers.Configf("data[].metadata.spec.expirationDate %q is not an RFC 3339 time, e.g. "+
				"2030-12-31T20:00:00Z", providers.Truncate(spec.ExpirationDate, 64))
		}
		spec.expires = &t
	}
	if len(spec.ContentType) > maxContentTypeL {
		return spec, providers.Configf("data[].metadata.spec.contentType is longer than Key Vault's %d characters",
			maxContentTypeL)
	}
	if _, ok := spec.Tags[providers.ManagedByKey]; ok {
		return spec, providers.Configf("data[].metadata.spec.tags may not set the %q tag: Vigil sets it on what it "+
			"creates", providers.ManagedByKey)
	}
	if len(spec.Tags) > maxTags-1 {
		return spec, providers.Configf("data[].metadata.spec.tags has %d tags; Key Vault keeps %d per object, one of "+
			"them %q", len(spec.Tags), maxTags, providers.ManagedByKey)
	}
	for k, v := range spec.Tags {
		if k == "" || len(k) > maxTagNameLen || len(v) > maxTagValueLen {
			return spec, providers.Configf("data[].metadata.spec.tags %q: Key Vault takes tag names of 1 to %d and "+
				"values of up to %d characters", providers.Truncate(k, 64), maxTagNameLen, maxTagValueLen)
		}
	}
	return spec, nil
}

// PushSecret implements providers.Pusher: secrets (`<name>`, `secret/<name>`) and keys
// (`key/<name>`, a PEM private key). Certificates are refused by name.
func (c *Client) PushSecret(ctx context.Context, ref providers.PushRef, value []byte, overwrite bool) error {
	objType, name, err := pushTarget(ref)
	if err != nil {
		return err
	}
	meta, err := pushMetadata(ref)
	if err != nil {
		return err
	}
	if objType == typeKey {
		if meta.ContentType != "" {
			return providers.Configf("key %s: data[].metadata.spec.contentType is for secrets; a key has none", ref)
		}
		return c.pushKey(ctx, ref, name, meta, value, overwrite)
	}
	cur, err := c.currentSecret(ctx, ref.Key, name)
	if err != nil {
		return err
	}
	if cur == nil {
		return c.createSecret(ctx, ref, name, meta, value)
	}
	if cur.Managed != nil && *cur.Managed {
		return providers.Configf("key %s is the secret of a Key Vault certificate, which Key Vault writes itself; "+
			"push to another name", ref)
	}
	managed := isManaged(cur.Tags)
	if !managed && !overwrite {
		return providers.NotManaged(ref)
	}
	current := ""
	if cur.Value != nil {
		current = *cur.Value
	}
	next, err := withProperty([]byte(current), ref.Property, value)
	if err != nil {
		return err
	}
	if len(next) > maxSecretBytes {
		return tooLarge(ref, len(next))
	}
	want := secretProps(cur.Secret, meta, managed)
	if string(next) == current {
		return c.updateProps(ctx, ref.Key, name, cur.Secret, want)
	}
	return c.setSecret(ctx, ref.Key, name, string(next), want)
}

// pushTarget splits a remote key and refuses what the Pusher does not write: certificates
// (ESO imports them; Vigil does not yet), and a property of a key.
func pushTarget(ref providers.PushRef) (objType, name string, err error) {
	objType, name, err = splitKey(ref.Key)
	switch {
	case err != nil:
		return "", "", err
	case objType == typeCert:
		return "", "", providers.Configf("key %s: Vigil pushes Key Vault secrets and keys, not certificates; push "+
			"to secret/<name> or key/<name>", ref)
	case objType == typeKey && ref.Property != "":
		return "", "", providers.Configf("key %s: remoteRef.property is for secrets; a key is pushed whole", ref)
	}
	return objType, name, nil
}

func tooLarge(ref providers.PushRef, n int) error {
	return providers.Configf("key %s: the value to push is %d bytes; Key Vault keeps secrets of up to %d bytes", ref,
		n, maxSecretBytes)
}

// withProperty is the value to write: value itself, or current with property set to it.
func withProperty(current []byte, property string, value []byte) ([]byte, error) {
	if property == "" {
		return value, nil
	}
	return providers.SetProperty(current, property, value)
}

// currentSecret reads a secret's current version, nil when there is none.
func (c *Client) currentSecret(ctx context.Context, key, name string) (*azsecrets.GetSecretResponse, error) {
	var resp azsecrets.GetSecretResponse
	err := c.call("GetSecret", func() (e error) { resp, e = c.secrets.GetSecret(ctx, name, "", nil); return })
	if err != nil {
		err = c.describe(err, key, typeSecret, permGet)
		if errors.Is(err, providers.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return &resp, nil
}

func isManaged(tags map[string]*string) bool {
	v := tags[providers.ManagedByKey]
	return v != nil && *v == providers.ManagedByValue
}

// props are a secret version's properties that a push sets.
type props struct {
	contentType *string
	expires     *time.Time
	tags        map[string]*string
}

// secretProps are the properties a push writes: the current version's, with data[].metadata
// on top, and the managed-by tag when Vigil owns the secret.
func secretProps(cur azsecrets.Secret, meta pushSpec, managed bool) props {
	p := props{contentType: cur.ContentType, tags: maps.Clone(cur.Tags)}
	if cur.Attributes != nil {
		p.expires = cur.Attributes.Expires
	}
	if meta.ContentType != "" {
		p.contentType = &meta.ContentType
	}
	if meta.expires != nil {
		p.expires = meta.expires
	}
	if p.tags == nil {
		p.tags = map[string]*string{}
	}
	for k, v := range meta.Tags {
		p.tags[k] = &v
	}
	if managed {
		p.tags[providers.ManagedByKey] = ptr(providers.ManagedByValue)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// createSecret writes the first version of a secret, marked managed-by.
func (c *Client) createSecret(ctx context.Context, ref providers.PushRef, name string, meta pushSpec,
	value []byte) error {
	value, err := withProperty(nil, ref.Property, value)
	if err != nil {
		return err
	}
	if len(value) > maxSecretBytes {
		return tooLarge(ref, len(value))
	}
	return c.setSecret(ctx, ref.Key, name, string(value), secretProps(azsecrets.Secret{}, meta, true))
}

// setSecret writes a new version.
func (c *Client) setSecret(ctx context.Context, key, name, value string, p props) error {
	params := azsecrets.SetSecretParameters{Value: &value, ContentType: p.contentType, Tags: p.tags}
	if p.expires != nil {
		params.SecretAttributes = &azsecrets.SecretAttributes{Expires: p.expires}
	}
	err := c.call("SetSecret", func() error { _, e := c.secrets.SetSecret(ctx, name, params, nil); return e })
	return c.describe(err, key, typeSecret, permSet)
}

// updateProps brings the current version's properties to p when they differ, without a
// new version (the value is the same).
func (c *Client) updateProps(ctx context.Context, key, name string, cur azsecrets.Secret, p props) error {
	var expires *time.Time
	if cur.Attributes != nil {
		expires = cur.Attributes.Expires
	}
	if sameString(cur.ContentType, p.contentType) && sameTime(expires, p.expires) && sameTags(cur.Tags, p.tags) {
		return nil
	}
	version := ""
	if cur.ID != nil {
		version = cur.ID.Version()
	}
	params := azsecrets.UpdateSecretPropertiesParameters{ContentType: p.contentType, Tags: p.tags}
	if p.expires != nil {
		params.SecretAttributes = &azsecrets.SecretAttributes{Expires: p.expires}
	}
	err := c.call("UpdateSecret", func() error {
		_, e := c.secrets.UpdateSecretProperties(ctx, name, version, params, nil)
		return e
	})
	return c.describe(err, key, typeSecret, permUpdate)
}

func sameString(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// sameTime compares to the second: Key Vault keeps Unix seconds.
func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Unix() == b.Unix())
}

func sameTags(a, b map[string]*string) bool {
	return maps.Equal(plainTags(a), plainTags(b)) && len(a) == len(b)
}

// SecretExists implements providers.Pusher: the secret or key has a current version (a
// secret holding the property, when set).
func (c *Client) SecretExists(ctx context.Context, ref providers.PushRef) (bool, error) {
	objType, name, err := pushTarget(ref)
	if err != nil {
		return false, err
	}
	if objType == typeKey {
		k, err := c.currentKey(ctx, ref.Key, name)
		return k != nil, err
	}
	cur, err := c.currentSecret(ctx, ref.Key, name)
	if err != nil || cur == nil {
		return false, err
	}
	if ref.Property != "" {
		return cur.Value != nil && providers.HasProperty([]byte(*cur.Value), ref.Property), nil
	}
	return true, nil
}

// DeleteSecret implements providers.Pusher: the property (the secret when it was the last
// one), or the secret or key, which Key Vault soft-deletes (recoverable for the vault's
// retention days, as ESO leaves it). Only what is marked managed-by.
func (c *Client) DeleteSecret(ctx context.Context, ref providers.PushRef) error {
	objType, name, err := pushTarget(ref)
	if err != nil {
		return err
	}
	if objType == typeKey {
		return c.deleteKey(ctx, ref, name)
	}
	cur, err := c.currentSecret(ctx, ref.Key, name)
	if err != nil || cur == nil {
		return err
	}
	if !isManaged(cur.Tags) {
		return providers.NotManaged(ref)
	}
	if ref.Property != "" && cur.Value != nil {
		if !providers.HasProperty([]byte(*cur.Value), ref.Property) {
			return nil
		}
		left, more, err := providers.DeleteProperty([]byte(*cur.Value), ref.Property)
		if err != nil {
			return err
		}
		if more {
			return c.setSecret(ctx, ref.Key, name, string(left), secretProps(cur.Secret, pushSpec{}, true))
		}
	}
	err = c.call("DeleteSecret", func() error { _, e := c.secrets.DeleteSecret(ctx, name, nil); return e })
	if err = c.describe(err, ref.Key, typeSecret, permDelete); errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	return err
}

var _ providers.Pusher = (*Client)(nil)
