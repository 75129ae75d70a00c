package vault

import (
	"context"
	"fmt"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	awsprovider "github.com/vigil-dev/vigil/providers/aws"
)

// VaultAudience is the audience of ServiceAccount tokens minted for Vault's Kubernetes and
// JWT auth (ESO's default for tokens it mints for Vault): the token is good for Vault only,
// never for this cluster's API server. The Vault role must name it (audience=vault);
// serviceAccountRef.audiences adds more.
const VaultAudience = "vault"

// loginFn logs in with api (a client without a token) and returns the new token.
type loginFn func(ctx context.Context, api *vaultapi.Client) (string, error)

// secretReader reads one key of a credentials Secret the store names.
type secretReader func(ctx context.Context, sel esv1.SecretKeySelector) (string, error)

// loginFunc returns how the store obtains a Vault token. It runs at client creation and
// again whenever Vault refuses the token, so each run reads the credentials afresh: a
// rotated token, password or secret id in its Secret is picked up without a store change.
func loginFunc(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string,
	aws *awsprovider.Provider) (loginFn, error) {
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
		return appRoleLogin(a.AppRole, secret), nil
	case a.Kubernetes != nil:
		return kubernetesLogin(ctx, store, kube, namespace, a.Kubernetes, secret)
	case a.Ldap != nil:
		return passwordLogin(loginPath(a.Ldap.Path, "ldap", a.Ldap.Username), a.Ldap.SecretRef, secret), nil
	case a.UserPass != nil:
		return passwordLogin(loginPath(a.UserPass.Path, "userpass", a.UserPass.Username), a.UserPass.SecretRef, secret), nil
	case a.Jwt != nil:
		return jwtLogin(ctx, store, kube, namespace, a.Jwt, secret)
	case a.Cert != nil:
		return certLogin(a.Cert), nil
	case a.Iam != nil:
		return iamLogin(ctx, store, kube, namespace, a.Iam, aws)
	}
	return nil, providers.Configf("spec.provider.vault.auth sets no method")
}

func appRoleLogin(r *esv1.VaultAppRole, secret secretReader) loginFn {
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
		return login(ctx, api, loginPath(r.Path, "approle", ""), map[string]any{"role_id": roleID, "secret_id": secretID})
	}
}

func kubernetesLogin(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string,
	k *esv1.VaultKubernetesAuth, secret secretReader) (loginFn, error) {
	jwt := func(ctx context.Context) (string, error) { return secret(ctx, *k.SecretRef) }
	if k.ServiceAccountRef != nil {
		audiences := append([]string{VaultAudience}, k.ServiceAccountRef.Audiences...)
		minter, err := providers.NewServiceAccountToken(ctx, kube, store, *k.ServiceAccountRef, namespace,
			audiences, kubernetesTokenTTL)
		if err != nil {
			return nil, fmt.Errorf("vault kubernetes auth: %w", err)
		}
		jwt = mintFunc(minter)
	}
	return func(ctx context.Context, api *vaultapi.Client) (string, error) {
		tok, err := jwt(ctx)
		if err != nil {
			return "", err
		}
		return login(ctx, api, loginPath(k.Path, "kubernetes", ""), map[string]any{"role": k.Role, "jwt": tok})
	}, nil
}

func mintFunc(minter *providers.ServiceAccountToken) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		tok, _, err := minter.Mint(ctx)
		return tok, err
	}
}

// passwordLogin logs in to userpass or ldap: the user name is in the path, the password in
// the body (and nowhere else).
func passwordLogin(path string, ref esv1.SecretKeySelector, secret secretReader) loginFn {
	return func(ctx context.Context, api *vaultapi.Client) (string, error) {
		password, err := secret(ctx, ref)
		if err != nil {
			return "", err
		}
		return login(ctx, api, path, map[string]any{"password": password})
	}
}

// jwtLogin logs in to the jwt/oidc method with a JWT from a Secret or one minted for a
// ServiceAccount (ESO: secretRef first; audiences default to "vault", ten minutes).
func jwtLogin(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string,
	j *esv1.VaultJwtAuth, secret secretReader) (loginFn, error) {
	jwt := func(ctx context.Context) (string, error) { return secret(ctx, *j.SecretRef) }
	if j.SecretRef == nil {
		k := j.KubernetesServiceAccountToken
		extra := []string{VaultAudience}
		if k.Audiences != nil && len(*k.Audiences) > 0 {
			extra = *k.Audiences
		}
		ttl := kubernetesTokenTTL
		if k.ExpirationSeconds != nil {
			ttl = time.Duration(*k.ExpirationSeconds) * time.Second
		}
		minter, err := providers.NewServiceAccountToken(ctx, kube, store, k.ServiceAccountRef, namespace,
			append(append([]string{}, k.ServiceAccountRef.Audiences...), extra...), ttl)
		if err != nil {
			return nil, fmt.Errorf("vault jwt auth: %w", err)
		}
		jwt = mintFunc(minter)
	}
	return func(ctx context.Context, api *vaultapi.Client) (string, error) {
		tok, err := jwt(ctx)
		if err != nil {
			return "", err
		}
		body := map[string]any{"jwt": tok}
		if j.Role != "" {
			body["role"] = j.Role // without one, Vault uses the method's default_role
		}
		return login(ctx, api, loginPath(j.Path, "jwt", ""), body)
	}, nil
}

// certLogin logs in to the cert method: the credential is the TLS client certificate the
// connection presents (clientCerts), the body only names the role.
func certLogin(c *esv1.VaultCertAuth) loginFn {
	return func(ctx context.Context, api *vaultapi.Client) (string, error) {
		var body map[string]any
		if c.VaultRole != "" {
			body = map[string]any{"name": c.VaultRole}
		}
		return login(ctx, api, loginPath(c.Path, "cert", ""), body)
	}
}

// login writes to an auth method's login endpoint and returns the client token. Errors name
// the path and Vault's HTTP status, never the body (it holds the credential) nor Vault's text.
func login(ctx context.Context, api *vaultapi.Client, path string, body map[string]any) (string, error) {
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
