package generators

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/vault"
)

// VaultDynamicSecret asks Vault for a secret it issues on request (database credentials, a
// token, a certificate), logging in as the Vault provider does.
type VaultDynamicSecret struct{ Vault *vault.Provider }

// Kind implements providers.Generator.
func (VaultDynamicSecret) Kind() string { return vaultKind }

// Generate implements providers.Generator.
func (g VaultDynamicSecret) Generate(ctx context.Context, kube client.Client, namespace,
	name string) (map[string][]byte, error) {
	var gen genv1alpha1.VaultDynamicSecret
	if err := get(ctx, kube, "VaultDynamicSecret", namespace, name, &gen); err != nil {
		return nil, err
	}
	return g.FromSpec(ctx, kube, namespace, name, gen.Spec)
}

// FromSpec generates what a VaultDynamicSecret named name with spec generates for namespace
// (also for a ClusterGenerator: credentials resolve in the using namespace).
func (g VaultDynamicSecret) FromSpec(ctx context.Context, kube client.Client, namespace, name string,
	spec genv1alpha1.VaultDynamicSecretSpec) (map[string][]byte, error) {
	where := fmt.Sprintf("VaultDynamicSecret %s/%s", namespace, name)
	if spec.Provider == nil {
		return nil, providers.Configf("%s: spec.provider is empty; set Vault's server and auth", where)
	}
	if missing := providers.VaultUnimplemented(spec.Provider); len(missing) > 0 {
		return nil, providers.Configf("%s: %s: not implemented by Vigil yet; see docs/providers.md",
			where, strings.Join(missing, ", "))
	}
	store := asStore(namespace, name, esv1.SecretStoreProvider{Vault: spec.Provider})
	if err := g.Vault.ValidateStore(store); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	c, err := g.Vault.NewClient(ctx, store, kube, namespace)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	var params map[string]any
	if p := spec.Parameters; p != nil && len(p.Raw) > 0 {
		if err := json.Unmarshal(p.Raw, &params); err != nil {
			return nil, providers.Configf("%s: spec.parameters is not a JSON object: %v", where, err)
		}
	}
	vc := c.(*vault.Client)
	s, err := vc.Request(ctx, spec.Method, spec.Path, params)
	if err != nil {
		vc.Close() // the token logged in for this call issued nothing
		return nil, fmt.Errorf("%s: %s %s: %w", where, orGET(spec.Method), spec.Path, err)
	}
	// The token stays live on success: Vault revokes a token's leases with it, and the
	// credentials must outlive this call. If the pass does not write the Secret, the
	// controller discards them (providers.Generated).
	leaseID := ""
	if s != nil {
		leaseID = s.LeaseID
	}
	providers.OnDiscard(ctx, func(ctx context.Context) { vc.Discard(ctx, leaseID) })
	var result map[string]any
	if s != nil {
		switch spec.ResultType {
		case genv1alpha1.VaultResultAuth:
			if s.Auth != nil {
				err = roundTrip(s.Auth, &result)
			}
		case genv1alpha1.VaultResultRaw:
			err = roundTrip(s, &result)
		default:
			result = s.Data
		}
		if err != nil {
			return nil, err
		}
	}
	if len(result) == 0 && !spec.AllowEmptyResponse {
		return nil, fmt.Errorf("%s: Vault returned no %s for %s (set allowEmptyResponse if that is expected)", where,
			orData(spec.ResultType), spec.Path)
	}
	return flatten(result)
}

func roundTrip(in any, out *map[string]any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func orGET(m string) string {
	if m == "" {
		return "GET"
	}
	return m
}

func orData(t genv1alpha1.VaultDynamicSecretResultType) string {
	if t == "" {
		return "Data"
	}
	return string(t)
}
