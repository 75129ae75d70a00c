// Package policycheck is the reconcile-time policy check that stores, ExternalSecrets,
// PushSecrets and the generators they name pass before any of their credentials is used: a
// Deny violation becomes a Waiting PolicyViolation error (looked at again after Recheck,
// since IAM policies change outside the cluster), a failed evaluation a retried error.
package policycheck

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// Recheck is how soon a store or ExternalSecret blocked by policy is checked again (IAM
// policies change outside the cluster).
const Recheck = time.Minute

// Store returns a Waiting PolicyViolation error when a Deny policy blocks the store, so
// that no credential of it is used. A nil gate checks nothing.
func Store(ctx context.Context, gate *policy.Gate, store esv1.GenericStore) error {
	if gate == nil {
		return nil
	}
	vs, err := gate.Store(ctx, store)
	if err != nil {
		return outcome.Transient(esv1.ReasonValidationFailed, fmt.Errorf("evaluating policies: %w", err))
	}
	return denied(vs)
}

// ExternalSecret is Store for an ExternalSecret and its store (nil when every entry names
// its own store or generator).
func ExternalSecret(ctx context.Context, gate *policy.Gate, es *esv1.ExternalSecret, store esv1.GenericStore) error {
	if gate == nil {
		return nil
	}
	vs, err := gate.ExternalSecret(ctx, es, store)
	if err != nil {
		return outcome.Transient(esv1.ReasonSecretSyncedError, fmt.Errorf("evaluating policies: %w", err))
	}
	return denied(vs)
}

// PushSecret is ExternalSecret for a PushSecret, called before anything is written: a Deny
// violation of the PushSecret (a remote key outside the namespace's prefixes, one its
// backend would write as another path, a custom rule) or of any store in stores (the stores
// it is about to push to) blocks every write, also for a PushSecret admitted before the
// policy existed or while the webhook was down. pushed are the remote keys of dataTo entries
// in per-key mode, which only the controller knows. A nil gate checks nothing.
func PushSecret(ctx context.Context, gate *policy.Gate, ps *esv1alpha1.PushSecret, stores []esv1.GenericStore,
	pushed ...policy.PushedKey) error {
	if gate == nil {
		return nil
	}
	vs, err := gate.PushSecret(ctx, ps, stores, pushed...)
	if err != nil {
		return outcome.Transient(esv1alpha1.ReasonErrored, fmt.Errorf("evaluating policies: %w", err))
	}
	return denied(vs)
}

// PushSecretDeletes is checked before deletionPolicy Delete removes remote keys a PushSecret
// pushed earlier (keys, from status.syncedPushSecrets) through store as it is now: a store
// that policy blocks lends no credential, not even to delete, and a key that the store now
// names outside the namespace's prefixes (the store was edited or replaced since the push,
// or the prefixes narrowed) is not deleted: it may be another team's. A nil gate checks
// nothing.
func PushSecretDeletes(ctx context.Context, gate *policy.Gate, ps *esv1alpha1.PushSecret, store esv1.GenericStore,
	keys []policy.PushedKey) error {
	if gate == nil {
		return nil
	}
	vs, err := gate.PushSecretDeletes(ctx, ps, store, keys)
	if err != nil {
		return outcome.Transient(esv1alpha1.ReasonErrored, fmt.Errorf("evaluating policies: %w", err))
	}
	if d := policy.Denied(vs); len(d) > 0 {
		return outcome.Waiting(esv1.ReasonPolicyViolation, fmt.Errorf(
			"deleting what it pushed through %s/%s is blocked by policy (set deletionPolicy None to leave the "+
				"remote keys as they are): %s", store.GetKind(), store.GetName(), policy.Summary(d)), Recheck)
	}
	return nil
}

// Generator is Store for a generator an ExternalSecret names, before it runs: a generator
// that policy blocks (e.g. one that would use the controller's own cloud identity) makes
// no provider call. reader must be uncached: generators are read with get only. A
// generator that cannot be found, or of a kind or version Vigil does not serve, is left to
// the generator registry, which says so.
func Generator(
	ctx context.Context, gate *policy.Gate, reader client.Reader, ref *esv1.GeneratorRef, namespace string,
) error {
	if gate == nil || (ref.APIVersion != "" && ref.APIVersion != providers.GeneratorAPIVersion) {
		return nil
	}
	if ref.Kind == clusterGeneratorKind {
		return clusterGenerator(ctx, gate, reader, ref, namespace)
	}
	if !policy.IsGenerator(genv1alpha1.GroupVersion.Group, ref.Kind) {
		return nil
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(genv1alpha1.GroupVersion.WithKind(ref.Kind))
	if err := reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return outcome.Transient(esv1.ReasonSecretSyncedError, fmt.Errorf("reading %s %q: %w", ref.Kind, ref.Name, err))
	}
	vs, err := gate.Generator(ctx, u)
	if err != nil {
		return outcome.Transient(esv1.ReasonSecretSyncedError, fmt.Errorf("evaluating policies: %w", err))
	}
	return denied(vs)
}

// denied turns Deny violations into the error that blocks an object.
func denied(vs []policy.Violation) error {
	if d := policy.Denied(vs); len(d) > 0 {
		return outcome.Waiting(esv1.ReasonPolicyViolation, fmt.Errorf("blocked by policy: %s", policy.Summary(d)), Recheck)
	}
	return nil
}
