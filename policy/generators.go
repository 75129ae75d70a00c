package policy

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
)

// GeneratorKinds are the generators.external-secrets.io kinds that pass the policies like
// stores do: at admission, in the reconcile gate before a generator runs, and in `vigil lint`.
var GeneratorKinds = []string{"Password", "ECRAuthorizationToken", "VaultDynamicSecret"}

// IsGenerator reports whether an object of this group and kind is a generator the policies
// check.
func IsGenerator(group, kind string) bool {
	return group == genv1alpha1.GroupVersion.Group && slices.Contains(GeneratorKinds, kind)
}

// ForGenerator builds the input for a generator: {kind, operation, object, namespace}, the
// same shape as a store's.
func (b *Builder) ForGenerator(ctx context.Context, obj *unstructured.Unstructured, op string) (Input, error) {
	in := newInput(obj.GetKind(), op, obj.UnstructuredContent())
	var err error
	if in["namespace"], err = b.namespace(ctx, obj.GetNamespace()); err != nil {
		return nil, err
	}
	return in, nil
}

// Generator returns the violations of a generator, before it runs.
func (g *Gate) Generator(ctx context.Context, obj *unstructured.Unstructured) ([]Violation, error) {
	in, err := g.Builder.ForGenerator(ctx, obj, g.op())
	if err != nil {
		return nil, err
	}
	return g.evaluate(ctx, in)
}
