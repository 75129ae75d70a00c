package aws

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/vigil-dev/vigil/providers"
)

// ssmPushSpec is the spec of ESO's PushSecretMetadata for Parameter Store (the fields Vigil
// implements; tier is refused by name).
type ssmPushSpec struct {
	// SecretType is String (ESO's default), StringList or SecureString.
	SecretType  ssmtypes.ParameterType `json:"secretType,omitempty"`
	KMSKeyID    string                 `json:"kmsKeyID,omitempty"`
	Description string                 `json:"description,omitempty"`
	Tags        map[string]string      `json:"tags,omitempty"`
	// EncodeAsDecoded pushes the whole Secret with its values as strings; without it (ESO's
	// default for Parameter Store) the values are base64, as encoding/json writes bytes.
	EncodeAsDecoded bool `json:"encodeAsDecoded,omitempty"`
}

const ssmPushFields = "secretType, kmsKeyID, description, tags, encodeAsDecoded"

// ssmMetadata parses and checks data[].metadata for Parameter Store.
func ssmMetadata(ref providers.PushRef) (ssmPushSpec, error) {
	spec, err := providers.ParsePushMetadata[ssmPushSpec](ref.Metadata, ssmPushFields)
	if err != nil {
		return spec, err
	}
	switch spec.SecretType {
	case "":
		spec.SecretType = ssmtypes.ParameterTypeString
	case ssmtypes.ParameterTypeString, ssmtypes.ParameterTypeStringList, ssmtypes.ParameterTypeSecureString:
	default:
		return spec, providers.Configf("data[].metadata.spec.secretType %q is not String, StringList or SecureString",
			spec.SecretType)
	}
	if _, ok := spec.Tags[providers.ManagedByKey]; ok {
		return spec, providers.Configf("data[].metadata.spec.tags may not set the %q tag: Vigil sets it on what it "+
			"creates", providers.ManagedByKey)
	}
	return spec, nil
}

// putParameter is PushSecret for Parameter Store: PutParameter, with the managed-by tag on a
// parameter it creates and the metadata's tags through AddTagsToResource.
func (c *storeClient) putParameter(ctx context.Context, ref providers.PushRef, value []byte, overwrite bool) error {
	meta, err := ssmMetadata(ref)
	if err != nil {
		return err
	}
	if ref.SecretKey == "" && !meta.EncodeAsDecoded {
		if value, err = base64Values(value); err != nil {
			return err
		}
	}
	current, err := c.GetSecret(ctx, providers.Ref{Key: ref.Key})
	exists := err == nil
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return err
	}
	var tags map[string]string
	if exists {
		if tags, err = c.GetMetadata(ctx, providers.Ref{Key: ref.Key}); err != nil {
			return err
		}
		if !managed(tags) && !overwrite {
			return providers.NotManaged(ref)
		}
	}
	next, err := withProperty(current, ref.Property, value)
	if err != nil {
		return err
	}
	if !exists || string(current) != string(next) {
		if err := c.writeParameter(ctx, ref, meta, next, exists); err != nil {
			return err
		}
	}
	return c.tagParameter(ctx, ref, tags, meta.Tags)
}

// writeParameter creates (tagged managed) or overwrites a parameter.
func (c *storeClient) writeParameter(ctx context.Context, ref providers.PushRef, meta ssmPushSpec, value []byte,
	exists bool) error {
	desc := meta.Description
	if desc == "" {
		desc = "secret '" + providers.ManagedByKey + ":" + providers.ManagedByValue + "'" // ESO's
	}
	in := &ssm.PutParameterInput{
		Name: aws.String(c.prefix + ref.Key), Value: aws.String(string(value)), Type: meta.SecretType,
		Description: aws.String(desc), Overwrite: aws.Bool(exists),
	}
	if meta.SecretType == ssmtypes.ParameterTypeSecureString && meta.KMSKeyID != "" {
		in.KeyId = aws.String(meta.KMSKeyID)
	}
	if !exists {
		// Tags only go with a create (PutParameter refuses tags with Overwrite).
		in.Tags = []ssmtypes.Tag{{Key: aws.String(providers.ManagedByKey), Value: aws.String(providers.ManagedByValue)}}
	}
	_, err := c.ssm.PutParameter(ctx, in)
	return c.apiError("PutParameter", ref.Key, err)
}

// tagParameter adds or updates the tags the metadata names.
func (c *storeClient) tagParameter(ctx context.Context, ref providers.PushRef, have, want map[string]string) error {
	var add []ssmtypes.Tag
	for k, v := range want {
		if old, ok := have[k]; !ok || old != v {
			add = append(add, ssmtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	if len(add) == 0 {
		return nil
	}
	_, err := c.ssm.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(c.prefix + ref.Key), Tags: add,
	})
	return c.apiError("AddTagsToResource", ref.Key, err)
}

// deleteParameter is DeleteSecret for Parameter Store.
func (c *storeClient) deleteParameter(ctx context.Context, ref providers.PushRef) error {
	tags, err := c.GetMetadata(ctx, providers.Ref{Key: ref.Key})
	switch {
	case errors.Is(err, providers.ErrNotFound):
		return nil
	case err != nil:
		return err
	case !managed(tags):
		return providers.NotManaged(ref)
	}
	if ref.Property != "" {
		current, err := c.GetSecret(ctx, providers.Ref{Key: ref.Key})
		if err != nil || !providers.HasProperty(current, ref.Property) {
			return ignoreNotFound(err)
		}
		next, left, err := providers.DeleteProperty(current, ref.Property)
		if err != nil {
			return err
		}
		if left {
			meta, _ := ssmMetadata(ref)
			return c.writeParameter(ctx, ref, meta, next, true)
		}
	}
	_, err = c.ssm.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(c.prefix + ref.Key)})
	return ignoreNotFound(c.apiError("DeleteParameter", ref.Key, err))
}

// base64Values turns the whole-Secret JSON object of strings into ESO's Parameter Store form,
// whose values are base64 (encoding/json's form of bytes).
func base64Values(value []byte) ([]byte, error) {
	var m map[string]string
	if err := json.Unmarshal(value, &m); err != nil {
		return nil, providers.Configf("the whole Secret could not be encoded for Parameter Store")
	}
	bs := make(map[string][]byte, len(m))
	for k, v := range m {
		bs[k] = []byte(v)
	}
	out, err := json.Marshal(bs)
	if err != nil {
		return nil, providers.Configf("the whole Secret could not be encoded for Parameter Store")
	}
	return out, nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	return err
}
