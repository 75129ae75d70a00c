package generators

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	"github.com/vigil-dev/vigil/providers"
)

// The generator kinds Vigil implements, and ESO's cluster-wide wrapper of them.
const (
	ClusterGeneratorKind = "ClusterGenerator"
	passwordKind         = "Password"
	ecrKind              = "ECRAuthorizationToken"
	vaultKind            = "VaultDynamicSecret"
)

// ClusterGenerator runs the generator spec a ClusterGenerator wraps, as if a generator of
// that kind and spec were in the namespace of the ExternalSecret that uses it (ESO's
// semantics): its credential references resolve in that namespace, under a SecretStore's
// rules, so a ClusterGenerator never reads another namespace's Secrets. The policies judge
// the wrapped spec the same way (controllers/internal/policycheck).
type ClusterGenerator struct {
	Password           Password
	ECR                ECRAuthorizationToken
	VaultDynamicSecret VaultDynamicSecret
}

// Kind implements providers.Generator.
func (ClusterGenerator) Kind() string { return ClusterGeneratorKind }

// Generate implements providers.Generator: namespace is the using ExternalSecret's.
func (g ClusterGenerator) Generate(ctx context.Context, kube client.Client, namespace,
	name string) (map[string][]byte, error) {
	var cg genv1alpha1.ClusterGenerator
	if err := get(ctx, kube, ClusterGeneratorKind, "", name, &cg); err != nil {
		return nil, err
	}
	s := cg.Spec.Generator
	where := fmt.Sprintf("ClusterGenerator %s (kind %s)", name, cg.Spec.Kind)
	var (
		out map[string][]byte
		err error
	)
	switch {
	case cg.Spec.Kind == passwordKind && s.PasswordSpec != nil:
		out, err = g.Password.FromSpec(*s.PasswordSpec)
	case cg.Spec.Kind == ecrKind && s.ECRAuthorizationTokenSpec != nil:
		out, err = g.ECR.FromSpec(ctx, kube, namespace, name, *s.ECRAuthorizationTokenSpec)
	case cg.Spec.Kind == vaultKind && s.VaultDynamicSecretSpec != nil:
		out, err = g.VaultDynamicSecret.FromSpec(ctx, kube, namespace, name, *s.VaultDynamicSecretSpec)
	case specFields[cg.Spec.Kind] != "":
		return nil, providers.Configf("%s: spec.generator does not hold the spec of kind %s; set spec.generator.%s",
			where, cg.Spec.Kind, specFields[cg.Spec.Kind])
	default:
		return nil, providers.Configf("%s: generator kind %q is not implemented by Vigil; see docs/providers.md",
			where, cg.Spec.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return out, nil
}

// specFields are ESO's field names in spec.generator of the kinds Vigil implements.
var specFields = map[string]string{
	passwordKind: "passwordSpec",
	ecrKind:      "ecrAuthorizationTokenSpec",
	vaultKind:    "vaultDynamicSecretSpec",
}
