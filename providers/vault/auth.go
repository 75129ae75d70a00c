package vault

import (
	"context"
	"fmt"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// VaultAudience is the audience of ServiceAccount tokens minted for Vault's Kubernetes auth
// (ESO's default for tokens it mints for Vault): the token is good for Vault only, never for
// this cluster's API server. The Vault role must name it (audience=vault); serviceAccountRef.
// audiences adds more.
const VaultAudience = "vault"

// loginFunc returns how the store obtains a Vault token. It runs at client creation and
// again whenever Vault refuses the token, so each run reads the credentials afresh: a
// rotated token or secret id in its Secret is picked up without a store change.
func loginFunc(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (func(context.Context, *vaultapi.Client) (string, error), error) {
	a := store.GetSpec().Provider.Vault.Auth
	secret := func(ctx context.Context, sel esv1.SecretKeySelector) (string, error) {
		return providers.SecretKey(ctx, kube, store, sel, namespace)
	}
	switch {
	case a.TokenSecretRef != nil:
		return func(ctx context.Context, _ *vaultapi.Client) (string, error) {
			return secret(ctx, *a.TokenSecretRef)
		}, nil
	case a.AppRole != nil:
		r := a.AppRole
		return func(ctx context.Context, api *vaultapi.Client) (string, error) {
			roleID := r.RoleID
			if r.RoleRef != nil {
				var err error
				if roleID, err = secret(ctx, *r.RoleRef); err != nil {
					return "", err
				}
			}
			secretID, err := secret(ctx, r.SecretRef)
			if err != nil {
				return "", err
			}
			return login(ctx, api, orDefault(r.Path, "approle"), map[string]any{"role_id": roleID, "secret_id": secretID})
		}, nil
	case a.Kubernetes != nil:
		k := a.Kubernetes
		jwt := func(ctx context.Context) (string, error) { return secret(ctx, *k.SecretRef) }
		if k.ServiceAccountRef != nil {
			audiences := append([]string{VaultAudience}, k.ServiceAccountRef.Audiences...)
			minter, err := providers.NewServiceAccountToken(ctx, kube, store, *k.ServiceAccountRef, namespace,
				audiences, kubernetesTokenTTL)
			if err != nil {
				return nil, fmt.Errorf("vault kubernetes auth: %w", err)
			}
			jwt = func(ctx context.Context) (string, error) {
				tok, _, err := minter.Mint(ctx)
				return tok, err
			}
		}
		return func(ctx context.Context, api *vaultapi.Client) (string, error) {
			tok, err := jwt(ctx)
			if err != nil {
				return "", err
			}
			return login(ctx, api, orDefault(k.Path, "kubernetes"), map[string]any{"role": k.Role, "jwt": tok})
		}, nil
	}
	return nil, providers.Configf("spec.provider.vault.auth sets no method")
}

// login writes to an auth method's login endpoint and returns the client token.
func login(ctx context.Context, api *vaultapi.Client, mount string, body map[string]any) (string, error) {
	path := "auth/" + strings.Trim(mount, "/") + "/login"
	s, err := api.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		return "", fmt.Errorf("vault login at %s: %w", path, describe("login", err))
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return "", fmt.Errorf("vault login at %s returned no token", path)
	}
	return s.Auth.ClientToken, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
