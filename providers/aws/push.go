package aws

import (
	"bytes"
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/vigil-dev/vigil/providers"
)

// The write side (PushSecret) with ESO's semantics: a secret Vigil creates carries the tag
// managed-by=external-secrets; one without it is written only with overwrite (updatePolicy
// Replace) and never deleted; a value equal to the current one makes no new version.

// smPushSpec is the spec of ESO's PushSecretMetadata for Secrets Manager (the fields Vigil
// implements; resourcePolicy and replicationLocations are refused by name).
type smPushSpec struct {
	// SecretPushFormat is binary (ESO's default: SecretBinary) or string (SecretString).
	SecretPushFormat string            `json:"secretPushFormat,omitempty"`
	Description      string            `json:"description,omitempty"`
	KMSKeyID         string            `json:"kmsKeyID,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
}

const smPushFields = "secretPushFormat, description, kmsKeyID, tags"

// smMetadata parses and checks data[].metadata for Secrets Manager.
func smMetadata(ref providers.PushRef) (smPushSpec, error) {
	spec, err := providers.ParsePushMetadata[smPushSpec](ref.Metadata, smPushFields)
	if err != nil {
		return spec, err
	}
	switch spec.SecretPushFormat {
	case "", "binary", "string":
	default:
		return spec, providers.Configf("data[].metadata.spec.secretPushFormat %q is neither binary nor string",
			spec.SecretPushFormat)
	}
	if _, ok := spec.Tags[providers.ManagedByKey]; ok {
		return spec, providers.Configf("data[].metadata.spec.tags may not set the %q tag: Vigil sets it on what it "+
			"creates", providers.ManagedByKey)
	}
	return spec, nil
}

// PushSecret implements providers.Pusher.
func (c *storeClient) PushSecret(ctx context.Context, ref providers.PushRef, value []byte, overwrite bool) error {
	if c.sm == nil {
		return c.putParameter(ctx, ref, value, overwrite)
	}
	meta, err := smMetadata(ref)
	if err != nil {
		return err
	}
	name := c.prefix + ref.Key
	desc, err := c.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		if !errors.Is(c.apiError("DescribeSecret", ref.Key, err), providers.ErrNotFound) {
			return c.apiError("DescribeSecret", ref.Key, err)
		}
		return c.createSecret(ctx, ref, meta, value)
	}
	if !managed(smTags(desc.Tags)) && !overwrite {
		return providers.NotManaged(ref)
	}
	var current []byte
	if len(desc.VersionIdsToStages) > 0 {
		out, err := c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil {
			return c.apiError("GetSecretValue", ref.Key, err)
		}
		current = secretBytes(out)
	}
	next, err := withProperty(current, ref.Property, value)
	if err != nil {
		return err
	}
	if err := c.tagSecret(ctx, ref, desc.Tags, meta.Tags); err != nil {
		return err
	}
	if current != nil && bytes.Equal(current, next) {
		return nil // no new version for the same value
	}
	in := &secretsmanager.PutSecretValueInput{SecretId: aws.String(name)}
	setSMValue(&in.SecretString, &in.SecretBinary, meta, next)
	_, err = c.sm.PutSecretValue(ctx, in)
	return c.apiError("PutSecretValue", ref.Key, err)
}

// createSecret creates a secret that does not exist yet, tagged as managed.
func (c *storeClient) createSecret(ctx context.Context, ref providers.PushRef, meta smPushSpec, value []byte) error {
	value, err := withProperty(nil, ref.Property, value)
	if err != nil {
		return err
	}
	tags := []smtypes.Tag{{Key: aws.String(providers.ManagedByKey), Value: aws.String(providers.ManagedByValue)}}
	for k, v := range meta.Tags {
		tags = append(tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	desc := meta.Description
	if desc == "" {
		desc = "secret '" + providers.ManagedByKey + ":" + providers.ManagedByValue + "'" // ESO's
	}
	in := &secretsmanager.CreateSecretInput{Name: aws.String(c.prefix + ref.Key), Tags: tags, Description: &desc}
	if meta.KMSKeyID != "" {
		in.KmsKeyId = aws.String(meta.KMSKeyID)
	}
	setSMValue(&in.SecretString, &in.SecretBinary, meta, value)
	_, err = c.sm.CreateSecret(ctx, in)
	return c.apiError("CreateSecret", ref.Key, err)
}

// tagSecret adds or updates the tags data[].metadata names on an existing secret (the
// managed-by tag is never added to a secret Vigil did not create).
func (c *storeClient) tagSecret(
	ctx context.Context, ref providers.PushRef, have []smtypes.Tag, want map[string]string,
) error {
	current := smTags(have)
	var add []smtypes.Tag
	for k, v := range want {
		if old, ok := current[k]; !ok || old != v {
			add = append(add, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	if len(add) == 0 {
		return nil
	}
	_, err := c.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(c.prefix + ref.Key), Tags: add})
	return c.apiError("TagResource", ref.Key, err)
}

// SecretExists implements providers.Pusher: the secret exists (and holds property, when set).
func (c *storeClient) SecretExists(ctx context.Context, ref providers.PushRef) (bool, error) {
	v, err := c.GetSecret(ctx, providers.Ref{Key: ref.Key})
	switch {
	case errors.Is(err, providers.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case ref.Property != "":
		return providers.HasProperty(v, ref.Property), nil
	}
	return true, nil
}

// DeleteSecret implements providers.Pusher: with property, that property (the whole secret
// when it was the last); else the secret, with the store's secretsManager recovery settings.
// A secret scheduled for deletion already is gone.
func (c *storeClient) DeleteSecret(ctx context.Context, ref providers.PushRef) error {
	if c.sm == nil {
		return c.deleteParameter(ctx, ref)
	}
	name := c.prefix + ref.Key
	desc, err := c.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		if err := c.apiError("DescribeSecret", ref.Key, err); !errors.Is(err, providers.ErrNotFound) {
			return err
		}
		return nil
	}
	if desc.DeletedDate != nil {
		return nil
	}
	if !managed(smTags(desc.Tags)) {
		return providers.NotManaged(ref)
	}
	if ref.Property != "" {
		done, err := c.deleteSMProperty(ctx, ref)
		if done || err != nil {
			return err
		}
	}
	in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(name)}
	if cfg := c.smConfig; cfg != nil {
		if cfg.ForceDeleteWithoutRecovery {
			in.ForceDeleteWithoutRecovery = aws.Bool(true)
		} else if cfg.RecoveryWindowInDays > 0 {
			in.RecoveryWindowInDays = aws.Int64(cfg.RecoveryWindowInDays)
		}
	}
	_, err = c.sm.DeleteSecret(ctx, in)
	return c.apiError("DeleteSecret", ref.Key, err)
}

// deleteSMProperty removes a property from a managed secret; done is false when no property
// is left, so that the caller deletes the secret.
func (c *storeClient) deleteSMProperty(ctx context.Context, ref providers.PushRef) (done bool, err error) {
	current, err := c.GetSecret(ctx, providers.Ref{Key: ref.Key})
	if err != nil {
		return true, err
	}
	if !providers.HasProperty(current, ref.Property) {
		return true, nil
	}
	next, left, err := providers.DeleteProperty(current, ref.Property)
	if err != nil || !left {
		return err != nil, err
	}
	in := &secretsmanager.PutSecretValueInput{SecretId: aws.String(c.prefix + ref.Key)}
	meta, _ := smMetadata(ref)
	setSMValue(&in.SecretString, &in.SecretBinary, meta, next)
	_, err = c.sm.PutSecretValue(ctx, in)
	return true, c.apiError("PutSecretValue", ref.Key, err)
}

// withProperty is the value to write: value itself, or current with property set to it.
func withProperty(current []byte, property string, value []byte) ([]byte, error) {
	if property == "" {
		return value, nil
	}
	return providers.SetProperty(current, property, value)
}

// setSMValue puts value in SecretBinary (ESO's default) or SecretString (secretPushFormat
// string).
func setSMValue(str **string, bin *[]byte, meta smPushSpec, value []byte) {
	if meta.SecretPushFormat == "string" {
		*str = aws.String(string(value))
		return
	}
	*bin = value
}

// secretBytes is a secret's current value, string or binary.
func secretBytes(out *secretsmanager.GetSecretValueOutput) []byte {
	if out.SecretString != nil {
		return []byte(*out.SecretString)
	}
	return out.SecretBinary
}

func smTags(tags []smtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// managed reports whether tags mark a remote secret as created by a secrets operator.
func managed(tags map[string]string) bool {
	return tags[providers.ManagedByKey] == providers.ManagedByValue
}
