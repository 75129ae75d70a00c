package vault

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// describe turns a failed Vault request into a providers.BackendError: the operation, the
// HTTP status, the request's path. Vault's own error text is left out: it is another
// component's text (a proxy or a hostile server can fill it with anything). A 403 is
// "permission denied", which is all Vault says of a denied path or a bad token.
func describe(op string, err error) error {
	if err == nil {
		return nil
	}
	be := providers.NewBackendError("Vault", op, "", err)
	var re *vaultapi.ResponseError
	if !errors.As(err, &re) {
		return be
	}
	be.Status, be.Code = re.StatusCode, http.StatusText(re.StatusCode)
	if re.StatusCode == http.StatusForbidden {
		be.Code, be.Denied = "permission denied", true
	}
	if u, perr := url.Parse(re.URL); perr == nil {
		be.Resource = strings.TrimPrefix(u.Path, "/v1/")
	}
	return be
}

// withKey adds what a read of key needed to a BackendError: the key, the capability on the
// path, and the identity.
func (c *Client) withKey(err error, key, capability string) error {
	if be := providers.AsBackendError(err); be != nil {
		be.Key, be.Identity = key, c.identity
		if be.Resource != "" {
			be.Permission = fmt.Sprintf("the %q capability", capability)
			be.Resource = "path " + be.Resource + " in the identity's Vault policy"
		}
	}
	return err
}

// identityOf names who a store's requests run as, without any credential: the auth
// method, its mount and role, the ServiceAccount whose token logs in.
func identityOf(spec *esv1.VaultProvider) string {
	a := spec.Auth
	switch {
	case a == nil:
		return ""
	case a.TokenSecretRef != nil:
		return "the token of spec.provider.vault.auth.tokenSecretRef"
	case a.AppRole != nil:
		return fmt.Sprintf("AppRole login at auth/%s", orDefault(a.AppRole.Path, "approle"))
	case a.Kubernetes != nil:
		id := fmt.Sprintf("Vault role %q at auth/%s", a.Kubernetes.Role, orDefault(a.Kubernetes.Path, "kubernetes"))
		if sa := a.Kubernetes.ServiceAccountRef; sa != nil {
			id += fmt.Sprintf(" (ServiceAccount %s)", sa.Name)
		}
		return id
	case a.Ldap != nil:
		return fmt.Sprintf("LDAP user %q at auth/%s", a.Ldap.Username, orDefault(a.Ldap.Path, "ldap"))
	case a.UserPass != nil:
		return fmt.Sprintf("user %q at auth/%s", a.UserPass.Username, orDefault(a.UserPass.Path, "userpass"))
	case a.Jwt != nil:
		id := fmt.Sprintf("JWT role %q at auth/%s", a.Jwt.Role, orDefault(a.Jwt.Path, "jwt"))
		if k := a.Jwt.KubernetesServiceAccountToken; a.Jwt.SecretRef == nil && k != nil {
			id += fmt.Sprintf(" (ServiceAccount %s)", k.ServiceAccountRef.Name)
		}
		return id
	case a.Cert != nil:
		return fmt.Sprintf("TLS certificate role %q at auth/%s", a.Cert.VaultRole, orDefault(a.Cert.Path, "cert"))
	case a.Iam != nil:
		return fmt.Sprintf("AWS IAM role %q at auth/%s", a.Iam.Role, orDefault(a.Iam.Path, defaultIAMMount))
	}
	return ""
}
