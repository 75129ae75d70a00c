package secretstore

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// CheckGeneratorPolicy is CheckPolicy for a generator an ExternalSecret names, before it
// runs: a generator that policy blocks (e.g. one that would use the controller's own cloud
// identity) makes no provider call. reader must be uncached: generators are read with get
// only. A generator that cannot be found, or of a kind or version Vigil does not serve, is
// left to the generator registry, which says so.
func CheckGeneratorPolicy(ctx context.Context, gate *policy.Gate, reader client.Reader, ref *esv1.GeneratorRef, namespace string) error {
	if gate == nil || (ref.APIVersion != "" && ref.APIVersion != providers.GeneratorAPIVersion) || !policy.IsGenerator(genv1alpha1.GroupVersion.Group, ref.Kind) {
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
