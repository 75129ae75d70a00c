package kubernetes

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/vigil-dev/vigil/providers"
)

// The write side (PushSecret), as ESO's Kubernetes provider does it: remoteRef.remoteKey
// names a Secret of the store's remote namespace; without a property the Secret's data
// becomes the source's keys (the whole source: match.secretKey empty), with one the value
// goes into that key of the Secret and its other keys are kept (the whole source as a JSON
// object when match.secretKey is empty). The Secret takes the source's type, labels and
// annotations, and data[].metadata's (ESO's PushSecretMetadata: labels, annotations,
// sourceMergePolicy, targetMergePolicy).
//
// Ownership: ESO marks nothing on a Secret it pushes. Vigil labels a Secret it creates
// managed-by=external-secrets (the mark its other Pushers write as a tag), overwrites a
// Secret without it only with updatePolicy Replace (and does not take it over then), and
// deletes only a Secret that carries it. A push that changes nothing writes nothing.

// pushMeta is ESO's PushSecretMetadataSpec of the Kubernetes provider.
type pushMeta struct {
	TargetMergePolicy string            `json:"targetMergePolicy,omitempty"`
	SourceMergePolicy string            `json:"sourceMergePolicy,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	RemoteNamespace   string            `json:"remoteNamespace,omitempty"`
}

const pushMetaFields = "labels, annotations, sourceMergePolicy, targetMergePolicy"

// parsePushMeta reads data[].metadata and refuses what Vigil does not do: a remote namespace
// other than the store's (the guardrails judge remote keys within the store's namespace),
// a policy ESO does not know, and a managed-by label (ownership is not the spec's to claim:
// it decides what deletionPolicy Delete may delete).
func parsePushMeta(ref providers.PushRef) (pushMeta, error) {
	m, err := providers.ParsePushMetadata[pushMeta](ref.Metadata, pushMetaFields)
	if err != nil {
		return m, err
	}
	switch {
	case m.RemoteNamespace != "":
		return m, providers.Configf("key %s: data[].metadata.spec.remoteNamespace is not supported by this version of "+
			"Vigil; push with a store whose spec.provider.kubernetes.remoteNamespace is that namespace", ref)
	case !oneOf(m.TargetMergePolicy, "", "Merge", "Replace", "Ignore"):
		return m, providers.Configf("key %s: data[].metadata.spec.targetMergePolicy %q is not Merge, Replace or Ignore",
			ref, m.TargetMergePolicy)
	case !oneOf(m.SourceMergePolicy, "", "Merge", "Replace"):
		return m, providers.Configf("key %s: data[].metadata.spec.sourceMergePolicy %q is not Merge or Replace",
			ref, m.SourceMergePolicy)
	case m.Labels[providers.ManagedByKey] != "":
		return m, providers.Configf("key %s: data[].metadata.spec.labels may not set %q: Vigil sets it on the "+
			"Secrets it creates", ref, providers.ManagedByKey)
	}
	return m, nil
}

func oneOf(s string, values ...string) bool {
	for _, v := range values {
		if s == v {
			return true
		}
	}
	return false
}

// checkPushRef refuses a remote key that is not a Secret name and a property that is not a
// Secret key before any request, naming the field (the API server's answer would not).
func checkPushRef(ref providers.PushRef) error {
	if errs := validation.IsDNS1123Subdomain(ref.Key); len(errs) > 0 {
		return providers.Configf("key %s: remoteRef.remoteKey must be a Secret name: %s", ref, strings.Join(errs, "; "))
	}
	if ref.Property != "" {
		if errs := validation.IsConfigMapKey(ref.Property); len(errs) > 0 {
			return providers.Configf("key %s: remoteRef.property must be a Secret key: %s", ref,
				strings.Join(errs, "; "))
		}
	}
	if ref.Property == "" && ref.SecretKey != "" {
		// ESO's rule: one key needs a key of the remote Secret to go into.
		return providers.Configf("key %s: pushing one key (match.secretKey) to a Kubernetes Secret needs "+
			"remoteRef.property, the key of the remote Secret it goes into", ref)
	}
	return nil
}

// PushSecret implements providers.Pusher.
func (c *Client) PushSecret(ctx context.Context, ref providers.PushRef, value []byte, overwrite bool) error {
	if err := checkPushRef(ref); err != nil {
		return err
	}
	meta, err := parsePushMeta(ref)
	if err != nil {
		return err
	}
	src := ref.Source
	if src == nil {
		src = &providers.PushSource{}
	}
	current, err := c.getForPush(ctx, ref.Key)
	if err != nil {
		return err
	}
	if current == nil {
		return c.create(ctx, ref, meta, src, value)
	}
	managed := current.Labels[providers.ManagedByKey] == providers.ManagedByValue
	if !managed && !overwrite {
		return providers.NotManaged(ref)
	}
	next := current.DeepCopy()
	if ref.Property == "" && next.Type != secretType(src) {
		return providers.Configf("key %s: the remote Secret is of type %q and the source of type %q; a Secret's type "+
			"cannot change: delete the remote Secret, or push into a property of it", ref, next.Type, secretType(src))
	}
	setData(next, ref, src, value)
	labels, annotations := sourceMeta(meta, src)
	next.Labels = targetMeta(meta, next.Labels, labels)
	next.Annotations = targetMeta(meta, next.Annotations, annotations)
	if v, ok := current.Labels[providers.ManagedByKey]; ok {
		// The mark (Vigil's, or another value someone else set) stays as it was: a Secret
		// Vigil overwrites with updatePolicy Replace is not taken over.
		next.Labels = withLabel(next.Labels, providers.ManagedByKey, v)
	}
	if equality.Semantic.DeepEqual(current, next) {
		return nil
	}
	// An update carries the resourceVersion read: a Secret changed since is not overwritten.
	start := time.Now()
	_, err = c.cs.CoreV1().Secrets(c.namespace).Update(ctx, next, metav1.UpdateOptions{})
	c.observe(ProviderName, "UpdateSecret", err, time.Since(start))
	if err != nil {
		return c.apiError("update", ref.Key, err)
	}
	return nil
}

// create makes the remote Secret, marked managed-by.
func (c *Client) create(ctx context.Context, ref providers.PushRef, meta pushMeta, src *providers.PushSource,
	value []byte) error {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ref.Key, Namespace: c.namespace},
		Type:       corev1.SecretType(secretType(src)),
	}
	setData(s, ref, src, value)
	labels, annotations := sourceMeta(meta, src)
	s.Labels, s.Annotations = targetMeta(meta, nil, labels), targetMeta(meta, nil, annotations)
	s.Labels = withLabel(s.Labels, providers.ManagedByKey, providers.ManagedByValue)
	start := time.Now()
	_, err := c.cs.CoreV1().Secrets(c.namespace).Create(ctx, s, metav1.CreateOptions{})
	c.observe(ProviderName, "CreateSecret", err, time.Since(start))
	if err != nil {
		// AlreadyExists: someone created it since the read; the retry judges it again.
		return c.apiError("create", ref.Key, err)
	}
	return nil
}

// getForPush reads the remote Secret; nil when there is none.
func (c *Client) getForPush(ctx context.Context, key string) (*corev1.Secret, error) {
	start := time.Now()
	s, err := c.cs.CoreV1().Secrets(c.namespace).Get(ctx, key, metav1.GetOptions{})
	c.observe(ProviderName, "GetSecret", err, time.Since(start))
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, c.apiError("get", key, err)
	}
	return s, nil
}

// secretType is the type a pushed Secret takes: the source's, Opaque when it has none.
func secretType(src *providers.PushSource) corev1.SecretType {
	if src.Type == "" {
		return corev1.SecretTypeOpaque
	}
	return corev1.SecretType(src.Type)
}

// setData writes the pushed value into s as ESO does: without a property the source's keys
// replace the Secret's data; with one, the value goes into that key.
func setData(s *corev1.Secret, ref providers.PushRef, src *providers.PushSource, value []byte) {
	if ref.Property == "" {
		s.Data = maps.Clone(src.Data)
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	s.Data[ref.Property] = value
}

// sourceMeta is ESO's mergeSourceMetadata: the source's labels and annotations with the
// metadata's added (Merge, the default) or the metadata's alone (Replace).
func sourceMeta(meta pushMeta, src *providers.PushSource) (labels, annotations map[string]string) {
	if meta.SourceMergePolicy == "Replace" {
		return maps.Clone(meta.Labels), maps.Clone(meta.Annotations)
	}
	labels, annotations = maps.Clone(src.Labels), maps.Clone(src.Annotations)
	if labels == nil {
		labels = map[string]string{}
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	maps.Copy(labels, meta.Labels)
	maps.Copy(annotations, meta.Annotations)
	return labels, annotations
}

// targetMeta is ESO's mergeTargetMetadata for labels or annotations: the source's added to
// the remote Secret's (Merge, the default), the source's alone (Replace), or the remote
// Secret's left as they are (Ignore).
func targetMeta(meta pushMeta, target, source map[string]string) map[string]string {
	switch meta.TargetMergePolicy {
	case "Replace":
		return nonEmpty(maps.Clone(source))
	case "Ignore":
		return target
	}
	out := maps.Clone(target)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, source)
	return nonEmpty(out)
}

// nonEmpty is m, nil when it has nothing (as the API server returns an empty map), so that
// an unchanged Secret compares equal.
func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// withLabel returns labels with key set to value.
func withLabel(labels map[string]string, key, value string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	out[key] = value
	return out
}

// SecretExists implements providers.Pusher: the Secret exists (and has the property, when
// set).
func (c *Client) SecretExists(ctx context.Context, ref providers.PushRef) (bool, error) {
	if err := checkPushRef(providers.PushRef{Key: ref.Key, Property: ref.Property}); err != nil {
		return false, err
	}
	s, err := c.getForPush(ctx, ref.Key)
	if err != nil || s == nil {
		return false, err
	}
	if ref.Property == "" {
		return true, nil
	}
	_, ok := s.Data[ref.Property]
	return ok, nil
}

// DeleteSecret implements providers.Pusher: the property (the Secret when it was the last
// key), or the Secret. Only a Secret labelled managed-by; the delete is conditional on the
// Secret read (its UID and resourceVersion), so a Secret replaced or changed since is kept.
func (c *Client) DeleteSecret(ctx context.Context, ref providers.PushRef) error {
	if err := checkPushRef(providers.PushRef{Key: ref.Key, Property: ref.Property}); err != nil {
		return err
	}
	s, err := c.getForPush(ctx, ref.Key)
	if err != nil || s == nil {
		return err
	}
	if s.Labels[providers.ManagedByKey] != providers.ManagedByValue {
		return fmt.Errorf("key %s: %w; it is not deleted", ref, providers.ErrNotManaged)
	}
	if ref.Property != "" {
		if _, ok := s.Data[ref.Property]; !ok {
			return nil
		}
		if len(s.Data) > 1 {
			next := s.DeepCopy()
			delete(next.Data, ref.Property)
			start := time.Now()
			_, err := c.cs.CoreV1().Secrets(c.namespace).Update(ctx, next, metav1.UpdateOptions{})
			c.observe(ProviderName, "UpdateSecret", err, time.Since(start))
			if err != nil {
				return c.apiError("update", ref.Key, err)
			}
			return nil
		}
	}
	start := time.Now()
	err = c.cs.CoreV1().Secrets(c.namespace).Delete(ctx, ref.Key, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: ptr.To(s.UID), ResourceVersion: ptr.To(s.ResourceVersion)},
	})
	c.observe(ProviderName, "DeleteSecret", err, time.Since(start))
	if err != nil && !apierrors.IsNotFound(err) {
		return c.apiError("delete", ref.Key, err)
	}
	return nil
}

var _ providers.Pusher = (*Client)(nil)
