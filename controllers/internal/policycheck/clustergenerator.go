package policycheck

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
)

// clusterGeneratorKind is ESO's cluster-wide generator wrapper.
const clusterGeneratorKind = "ClusterGenerator"

// clusterGenerator judges the generator a ClusterGenerator wraps as the namespaced generator
// it stands for: the wrapped kind and spec, in the namespace of the ExternalSecret that uses
// it (where the generator runs and resolves its credentials). So a ClusterGenerator cannot
// carry a tenant past a rule its own generator would meet, e.g. the controller's ambient
// cloud identity. A missing or malformed one is left to the generator, which says so.
func clusterGenerator(
	ctx context.Context, gate *policy.Gate, reader client.Reader, ref *esv1.GeneratorRef, namespace string,
) error {
	cg := &unstructured.Unstructured{}
	cg.SetGroupVersionKind(genv1alpha1.GroupVersion.WithKind(clusterGeneratorKind))
	if err := reader.Get(ctx, types.NamespacedName{Name: ref.Name}, cg); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return outcome.Transient(esv1.ReasonSecretSyncedError, fmt.Errorf("reading ClusterGenerator %q: %w", ref.Name, err))
	}
	kind, _, _ := unstructured.NestedString(cg.Object, "spec", "kind")
	wrapped, _, _ := unstructured.NestedMap(cg.Object, "spec", "generator")
	if len(wrapped) != 1 || !policy.IsGenerator(genv1alpha1.GroupVersion.Group, kind) {
		return nil
	}
	u := &unstructured.Unstructured{Object: map[string]any{}}
	for _, spec := range wrapped {
		u.Object["spec"] = spec
	}
	u.SetGroupVersionKind(genv1alpha1.GroupVersion.WithKind(kind))
	u.SetNamespace(namespace)
	u.SetName(ref.Name)
	vs, err := gate.Generator(ctx, u)
	if err != nil {
		return outcome.Transient(esv1.ReasonSecretSyncedError, fmt.Errorf("evaluating policies: %w", err))
	}
	return denied(vs)
}
