package providers

import (
	"context"
	"errors"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// The write side of a store (PushSecret). A provider's Client implements Pusher when its
// backend can be written; the PushSecret controller asks for it with a type assertion and
// reports a store whose client does not as "provider X cannot push".

// ManagedByKey and ManagedByValue mark a remote secret as created by a secrets operator:
// a tag (AWS), custom metadata (Vault KV v2), a label (GCP), a tag (Azure), a label
// (Kubernetes). They are ESO's own, so that a user moving between ESO and Vigil keeps the
// ownership of what either pushed.
const (
	ManagedByKey   = "managed-by"
	ManagedByValue = "external-secrets"
)

// PushRef names where one pushed value goes: data[].match.remoteRef and data[].metadata.
type PushRef struct {
	// Key is remoteRef.remoteKey: the remote secret's name or path.
	Key string
	// Property is remoteRef.property: when set, the value is written into this JSON
	// property of the remote secret and its other properties are kept.
	Property string
	// Metadata is data[].metadata, provider-specific (ESO's PushSecretMetadata shapes).
	Metadata *apiextensionsv1.JSON
	// SecretKey is data[].match.secretKey: the key of the source pushed. Empty means the
	// whole source, and the value is then a JSON object of its keys (string values), as
	// ESO pushes it; a provider that stores key/value maps (Kubernetes) writes the keys.
	SecretKey string
	// Source is what the value was taken from, for a provider whose remote secrets are
	// themselves key/value maps with a type and metadata (Kubernetes); others ignore it.
	// Nil when the controller does not know it.
	Source *PushSource
}

// PushSource is the source of a push after the template and the entry's conversionStrategy,
// as ESO hands it to a provider (the source Secret).
type PushSource struct {
	// Data is every key of the source, byte for byte.
	Data map[string][]byte
	// Type is the source Secret's type (spec.template.type when there is a template; empty
	// for a generator).
	Type string
	// Labels and Annotations are the source Secret's with spec.template.metadata's added;
	// what could carry a value or another controller's mark is left out (see the
	// controller's source).
	Labels, Annotations map[string]string
}

func (r PushRef) String() string {
	if r.Property == "" {
		return fmt.Sprintf("%q", r.Key)
	}
	return fmt.Sprintf("%q (property %q)", r.Key, r.Property)
}

// Pusher is implemented by clients that can write to their backend.
type Pusher interface {
	// PushSecret writes value at ref. A remote secret that does not exist is created and
	// marked managed-by (ManagedByKey). One that exists and is not so marked is written only
	// when overwrite is true (updatePolicy Replace); otherwise PushSecret returns an error
	// wrapping ErrNotManaged and writes nothing. Writing a value equal to the current one
	// should not create a new remote version.
	PushSecret(ctx context.Context, ref PushRef, value []byte, overwrite bool) error
	// SecretExists says whether ref (and its property, when set) exists: updatePolicy
	// IfNotExists pushes only when it does not.
	SecretExists(ctx context.Context, ref PushRef) (bool, error)
	// DeleteSecret removes what PushSecret wrote at ref (deletionPolicy Delete): the
	// property when set (the whole secret when it was the last one), else the secret. A
	// remote secret not marked managed-by is never deleted (ErrNotManaged); one that does not
	// exist is not an error.
	DeleteSecret(ctx context.Context, ref PushRef) error
}

// ErrNotManaged is wrapped by Pusher errors for a remote secret that Vigil (or ESO) did not
// create: it is left as it is.
var ErrNotManaged = errors.New("the remote secret exists and is not managed by external-secrets")

// NotManaged returns an error for ref that wraps ErrNotManaged.
func NotManaged(ref PushRef) error {
	return fmt.Errorf("key %s: %w (set updatePolicy: Replace to overwrite it)", ref, ErrNotManaged)
}
