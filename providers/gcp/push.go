package gcp

import (
	"bytes"
	"context"

	smpb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"

	"github.com/vigil-dev/vigil/providers"
)

// maxPayloadBytes is Secret Manager's limit on one version's payload.
const maxPayloadBytes = 64 << 10

// managed reports whether a secret carries ESO's ownership label.
func managed(s *smpb.Secret) bool {
	return s.GetLabels()[providers.ManagedByKey] == providers.ManagedByValue
}

// PushSecret implements providers.Pusher: a missing secret is created with the label
// managed-by=external-secrets; a version is added only when the value (or the property)
// changes, so that a push of the same value every refresh creates no version.
func (c *storeClient) PushSecret(ctx context.Context, ref providers.PushRef, value []byte, overwrite bool) error {
	if err := c.checkPush(ref); err != nil {
		return err
	}
	if len(value) > maxPayloadBytes {
		return providers.LimitError("key %s: the value is %d bytes, more than the %d bytes Secret Manager holds in one "+
			"version", ref, len(value), maxPayloadBytes)
	}
	s, err := c.getSecret(ctx, ref.Key)
	switch {
	case isCode(err, codes.NotFound):
		if err := c.create(ctx, ref.Key); err != nil {
			return err
		}
	case err != nil:
		return err
	case !managed(s) && !overwrite:
		return providers.NotManaged(ref)
	}
	current, have, err := c.current(ctx, ref)
	if err != nil {
		return err
	}
	next := value
	if ref.Property != "" {
		if next, err = providers.SetProperty(current, ref.Property, value); err != nil {
			return err
		}
	}
	if have && bytes.Equal(current, next) {
		return nil
	}
	if len(next) > maxPayloadBytes {
		return providers.LimitError("key %s: the value is %d bytes, more than the %d bytes Secret Manager holds in one "+
			"version", ref, len(next), maxPayloadBytes)
	}
	return c.addVersion(ctx, ref.Key, next)
}

func (c *storeClient) checkPush(ref providers.PushRef) error {
	if err := checkKey(ref.Key); err != nil {
		return err
	}
	if ref.Metadata != nil && len(ref.Metadata.Raw) > 0 {
		return providers.Configf("key %s: data[].metadata (PushSecretMetadata labels, annotations, topics, "+
			"replication) is not implemented by Vigil's gcpsm provider yet; remove it (docs/providers.md)", ref)
	}
	return nil
}

// create makes an empty secret that Vigil owns: automatic replication for a global secret
// (a regional one takes none), the managed-by label. A secret created meanwhile by another
// writer is not ours: AlreadyExists is returned as the failure it is.
func (c *storeClient) create(ctx context.Context, key string) error {
	s := &smpb.Secret{Labels: map[string]string{providers.ManagedByKey: providers.ManagedByValue}}
	if c.location == "" {
		s.Replication = &smpb.Replication{Replication: &smpb.Replication_Automatic_{
			Automatic: &smpb.Replication_Automatic{}}}
	}
	err := c.call(ctx, "CreateSecret", func(ctx context.Context) error {
		_, err := c.sm.CreateSecret(ctx, &smpb.CreateSecretRequest{Parent: c.parent(), SecretId: key, Secret: s})
		return err
	})
	return c.apiError("CreateSecret", key, c.secretName(key), err)
}

// current returns the latest version's value; have is false when the secret has none (or
// only a disabled or destroyed latest, which a whole-value push replaces).
func (c *storeClient) current(ctx context.Context, ref providers.PushRef) (value []byte, have bool, err error) {
	v, err := c.access(ctx, ref.Key, c.secretName(ref.Key)+"/versions/latest")
	switch {
	case err == nil:
		return v, true, nil
	case isCode(err, codes.NotFound):
		return nil, false, nil
	case isCode(err, codes.FailedPrecondition) && ref.Property == "":
		return nil, false, nil
	case isCode(err, codes.FailedPrecondition):
		return nil, false, providers.Configf("key %s: the latest version is disabled or destroyed, so property %q "+
			"cannot be merged into it; enable it or push the whole value", ref, ref.Property)
	}
	return nil, false, err
}

func (c *storeClient) addVersion(ctx context.Context, key string, data []byte) error {
	err := c.call(ctx, "AddSecretVersion", func(ctx context.Context) error {
		_, err := c.sm.AddSecretVersion(ctx, &smpb.AddSecretVersionRequest{Parent: c.secretName(key),
			Payload: &smpb.SecretPayload{Data: data, DataCrc32C: checksum(data)}})
		return err
	})
	return c.apiError("AddSecretVersion", key, c.secretName(key), err)
}

// SecretExists implements providers.Pusher.
func (c *storeClient) SecretExists(ctx context.Context, ref providers.PushRef) (bool, error) {
	if err := checkKey(ref.Key); err != nil {
		return false, err
	}
	_, err := c.getSecret(ctx, ref.Key)
	switch {
	case isCode(err, codes.NotFound):
		return false, nil
	case err != nil:
		return false, err
	case ref.Property == "":
		return true, nil
	}
	current, have, err := c.current(ctx, providers.PushRef{Key: ref.Key})
	if err != nil || !have {
		return false, err
	}
	return providers.HasProperty(current, ref.Property), nil
}

// DeleteSecret implements providers.Pusher: a secret without the managed-by label is never
// deleted; with a property, only that property goes (the secret when it was the last one).
func (c *storeClient) DeleteSecret(ctx context.Context, ref providers.PushRef) error {
	if err := checkKey(ref.Key); err != nil {
		return err
	}
	s, err := c.getSecret(ctx, ref.Key)
	switch {
	case isCode(err, codes.NotFound):
		return nil
	case err != nil:
		return err
	case !managed(s):
		return providers.NotManaged(ref)
	}
	if ref.Property != "" {
		current, have, err := c.current(ctx, providers.PushRef{Key: ref.Key})
		if err != nil || !have || !providers.HasProperty(current, ref.Property) {
			return err
		}
		rest, left, err := providers.DeleteProperty(current, ref.Property)
		if err != nil {
			return err
		}
		if left {
			return c.addVersion(ctx, ref.Key, rest)
		}
	}
	err = c.call(ctx, "DeleteSecret", func(ctx context.Context) error {
		// The etag makes the delete fail if the secret changed since it was read as ours.
		return c.sm.DeleteSecret(ctx, &smpb.DeleteSecretRequest{Name: c.secretName(ref.Key), Etag: s.GetEtag()})
	})
	if isCode(c.apiError("DeleteSecret", ref.Key, c.secretName(ref.Key), err), codes.NotFound) {
		return nil
	}
	return c.apiError("DeleteSecret", ref.Key, c.secretName(ref.Key), err)
}

var _ providers.Pusher = (*storeClient)(nil)
