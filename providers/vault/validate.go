package vault

import (
	"fmt"
	"strings"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// Limits of the names a store puts into Vault request paths (auth/<mount>/login/<user>).
const (
	maxMountPath = 256
	maxUsername  = 256
	// ServiceAccount token lifetimes a store may ask for (jwt.kubernetesServiceAccountToken.
	// expirationSeconds): the API server mints none shorter than 10 minutes, and a token that
	// is used once, at login, needs no more than a day.
	minTokenSeconds = 600
	maxTokenSeconds = 24 * 3600
)

// authMethods names every auth method, in ESO's order, for messages.
const authMethods = "tokenSecretRef, appRole, kubernetes, ldap, userPass, jwt, cert or iam"

// validateAuth checks spec.provider.vault.auth: exactly one method, with what it needs.
func validateAuth(store esv1.GenericStore, a *esv1.VaultAuth) error {
	if a == nil {
		return providers.Configf("spec.provider.vault.auth is empty; set one of %s", authMethods)
	}
	set := 0
	for _, on := range []bool{a.TokenSecretRef != nil, a.AppRole != nil, a.Kubernetes != nil, a.Ldap != nil,
		a.UserPass != nil, a.Jwt != nil, a.Cert != nil, a.Iam != nil, a.GCP != nil} {
		if on {
			set++
		}
	}
	if set != 1 {
		return providers.Configf("spec.provider.vault.auth sets %d methods; set exactly one of %s", set, authMethods)
	}
	check := func(field string, ns *string) error { return providers.CheckRefNamespace(store, ns, field) }
	switch {
	case a.TokenSecretRef != nil:
		if a.TokenSecretRef.Key == "" {
			return providers.Configf("spec.provider.vault.auth.tokenSecretRef.key is empty; name the key that holds the token")
		}
		return check("spec.provider.vault.auth.tokenSecretRef", a.TokenSecretRef.Namespace)
	case a.AppRole != nil:
		return firstError(checkMount("appRole.path", a.AppRole.Path), validateAppRole(a.AppRole, check))
	case a.Kubernetes != nil:
		return firstError(checkMount("kubernetes.mountPath", a.Kubernetes.Path), validateKubernetesAuth(a.Kubernetes, check))
	case a.Ldap != nil:
		return validatePassword("ldap", a.Ldap.Path, a.Ldap.Username, a.Ldap.SecretRef, check)
	case a.UserPass != nil:
		return validatePassword("userPass", a.UserPass.Path, a.UserPass.Username, a.UserPass.SecretRef, check)
	case a.Jwt != nil:
		return validateJWT(a.Jwt, check)
	case a.Cert != nil:
		return validateCert(a.Cert, check)
	case a.Iam != nil:
		return validateIAM(a.Iam, check)
	}
	return nil // gcp: refused as unimplemented before a store gets here (providers.Unimplemented)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkMount refuses an auth mount path that would leave auth/<mount>/: it becomes part of
// the login request's URL, and the login's body carries a credential.
func checkMount(field, path string) error {
	p := strings.Trim(path, "/")
	if p == "" {
		return nil // the method's default
	}
	if len(p) > maxMountPath {
		return providers.Configf("spec.provider.vault.auth.%s is %d bytes long; the limit is %d", field, len(p), maxMountPath)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "?#%\\") || hasControl(seg) {
			return providers.Configf("spec.provider.vault.auth.%s %q is not a mount path; write the path the auth method "+
				"is enabled at, e.g. %q (no empty, '.' or '..' segments, no ?, #, %% or \\)", field, p, "userpass")
		}
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// validatePassword checks ldap and userPass: a user name that is one path segment (Vault's
// login path is auth/<mount>/login/<username>) and the Secret key of the password.
func validatePassword(method, path, user string, ref esv1.SecretKeySelector, check func(string, *string) error) error {
	field := "spec.provider.vault.auth." + method
	if err := checkMount(method+".path", path); err != nil {
		return err
	}
	switch {
	case user == "":
		return providers.Configf("%s.username is empty; name the user to log in as", field)
	case len(user) > maxUsername:
		return providers.Configf("%s.username is %d bytes long; the limit is %d", field, len(user), maxUsername)
	case strings.ContainsAny(user, "/?#%\\") || hasControl(user) || user == "." || user == "..":
		return providers.Configf("%s.username may not contain /, ?, #, %%, \\ or control characters, nor be . or ..", field)
	case ref.Name == "" || ref.Key == "":
		return providers.Configf("%s.secretRef needs name and key: the Secret key that holds the password", field)
	}
	return check(field+".secretRef", ref.Namespace)
}

// validateJWT checks jwt: a token from a Secret or minted for a ServiceAccount (ESO uses
// secretRef when both are set).
func validateJWT(j *esv1.VaultJwtAuth, check func(string, *string) error) error {
	const field = "spec.provider.vault.auth.jwt"
	if err := checkMount("jwt.path", j.Path); err != nil {
		return err
	}
	if j.SecretRef != nil {
		if j.SecretRef.Name == "" || j.SecretRef.Key == "" {
			return providers.Configf("%s.secretRef needs name and key: the Secret key that holds the JWT", field)
		}
		return check(field+".secretRef", j.SecretRef.Namespace)
	}
	k := j.KubernetesServiceAccountToken
	if k == nil {
		return providers.Configf("%s needs secretRef (a Secret holding a JWT) or kubernetesServiceAccountToken "+
			"(a token minted for a ServiceAccount)", field)
	}
	if k.ServiceAccountRef.Name == "" {
		return providers.Configf("%s.kubernetesServiceAccountToken.serviceAccountRef.name is empty", field)
	}
	if s := k.ExpirationSeconds; s != nil && (*s < minTokenSeconds || *s > maxTokenSeconds) {
		return providers.Configf("%s.kubernetesServiceAccountToken.expirationSeconds is %d; set it between %d and %d "+
			"(or leave it out: 600)", field, *s, minTokenSeconds, maxTokenSeconds)
	}
	return check(field+".kubernetesServiceAccountToken.serviceAccountRef", k.ServiceAccountRef.Namespace)
}

// validateCert checks cert: the client certificate and its private key, both from Secrets.
func validateCert(c *esv1.VaultCertAuth, check func(string, *string) error) error {
	const field = "spec.provider.vault.auth.cert"
	if err := checkMount("cert.path", c.Path); err != nil {
		return err
	}
	if c.ClientCert.Name == "" || c.ClientCert.Key == "" || c.SecretRef.Name == "" || c.SecretRef.Key == "" {
		return providers.Configf("%s needs clientCert (the certificate) and secretRef (its private key), each with "+
			"name and key", field)
	}
	return firstError(check(field+".clientCert", c.ClientCert.Namespace), check(field+".secretRef", c.SecretRef.Namespace))
}

// validateIAM checks iam: the Vault role, and the AWS credentials when a Secret or a
// ServiceAccount names them (without either, the controller's own AWS identity signs, as
// in ESO).
func validateIAM(i *esv1.VaultIamAuth, check func(string, *string) error) error {
	const field = "spec.provider.vault.auth.iam"
	if err := checkMount("iam.path", i.Path); err != nil {
		return err
	}
	if i.Role == "" {
		return providers.Configf("%s.vaultRole is empty; name the Vault role of the aws auth method", field)
	}
	if len(i.VaultAWSIAMServerID) > 256 || hasControl(i.VaultAWSIAMServerID) {
		return providers.Configf("%s.vaultAwsIamServerID must be at most 256 printable characters", field)
	}
	if r := i.SecretRef; r != nil {
		if r.AccessKeyID.Key == "" || r.SecretAccessKey.Key == "" {
			return providers.Configf("%s.secretRef needs accessKeyIDSecretRef and secretAccessKeySecretRef", field)
		}
		errs := []error{check(field+".secretRef.accessKeyIDSecretRef", r.AccessKeyID.Namespace),
			check(field+".secretRef.secretAccessKeySecretRef", r.SecretAccessKey.Namespace)}
		if r.SessionToken != nil {
			errs = append(errs, check(field+".secretRef.sessionTokenSecretRef", r.SessionToken.Namespace))
		}
		return firstError(errs...)
	}
	if i.JWTAuth != nil && i.JWTAuth.ServiceAccountRef != nil {
		return check(field+".jwt.serviceAccountRef", i.JWTAuth.ServiceAccountRef.Namespace)
	}
	return nil
}

func validateAppRole(r *esv1.VaultAppRole, check func(field string, ns *string) error) error {
	if (r.RoleID == "") == (r.RoleRef == nil) {
		return providers.Configf("spec.provider.vault.auth.appRole needs exactly one of roleId or roleRef")
	}
	if r.SecretRef.Key == "" {
		return providers.Configf(
			"spec.provider.vault.auth.appRole.secretRef.key is empty; name the key that holds the secret id")
	}
	if r.RoleRef != nil {
		if err := check("spec.provider.vault.auth.appRole.roleRef", r.RoleRef.Namespace); err != nil {
			return err
		}
	}
	return check("spec.provider.vault.auth.appRole.secretRef", r.SecretRef.Namespace)
}

func validateKubernetesAuth(k *esv1.VaultKubernetesAuth, check func(field string, ns *string) error) error {
	if k.Role == "" {
		return providers.Configf(
			"spec.provider.vault.auth.kubernetes.role is empty; name the Vault role bound to the ServiceAccount")
	}
	switch {
	case k.ServiceAccountRef != nil:
		return check("spec.provider.vault.auth.kubernetes.serviceAccountRef", k.ServiceAccountRef.Namespace)
	case k.SecretRef != nil:
		return check("spec.provider.vault.auth.kubernetes.secretRef", k.SecretRef.Namespace)
	}
	return providers.Configf(
		"spec.provider.vault.auth.kubernetes needs serviceAccountRef (a token is minted for it) or " +
			"secretRef (a Secret holding a token)")
}

// validateTLS checks tls (the client certificate of mutual TLS) and caProvider, as ESO does:
// tls names both Secrets or neither; a SecretStore reads its CA from its own namespace, a
// ClusterSecretStore names the namespace (ESO's rule: no tenant chooses the CA a shared store
// trusts).
func validateTLS(store esv1.GenericStore, spec *esv1.VaultProvider) error {
	if spec.Auth != nil && spec.Auth.Cert != nil && !strings.HasPrefix(strings.ToLower(spec.Server), "https://") {
		return providers.Configf("spec.provider.vault.auth.cert logs in with a TLS client certificate: " +
			"spec.provider.vault.server must be an https:// address")
	}
	t := spec.ClientTLS
	if (t.CertSecretRef == nil) != (t.KeySecretRef == nil) {
		return providers.Configf("spec.provider.vault.tls needs both certSecretRef and keySecretRef (or neither)")
	}
	if t.CertSecretRef != nil {
		if err := firstError(
			providers.CheckRefNamespace(store, t.CertSecretRef.Namespace, "spec.provider.vault.tls.certSecretRef"),
			providers.CheckRefNamespace(store, t.KeySecretRef.Namespace, "spec.provider.vault.tls.keySecretRef")); err != nil {
			return err
		}
	}
	ca := spec.CAProvider
	if ca == nil {
		return nil
	}
	if ca.Key == "" {
		return providers.Configf(
			"spec.provider.vault.caProvider.key is empty; name the key that holds the PEM CA certificate")
	}
	if ca.Type != esv1.CAProviderTypeSecret && ca.Type != esv1.CAProviderTypeConfigMap {
		return providers.Configf("spec.provider.vault.caProvider.type %q is not Secret or ConfigMap", ca.Type)
	}
	if store.GetKind() == esv1.ClusterSecretStoreKind && (ca.Namespace == nil || *ca.Namespace == "") {
		return providers.Configf("spec.provider.vault.caProvider.namespace is empty; a ClusterSecretStore names the "+
			"namespace of its CA's %s", ca.Type)
	}
	return providers.CheckRefNamespace(store, ca.Namespace, "spec.provider.vault.caProvider")
}

// validateCheckAndSet refuses checkAndSet on KV v1, which has no versions (ESO's rule).
func validateCheckAndSet(spec *esv1.VaultProvider) error {
	if spec.CheckAndSet != nil && spec.CheckAndSet.Required && spec.Version == esv1.VaultKVStoreV1 {
		return providers.Configf("spec.provider.vault.checkAndSet is not supported with KV version v1; " +
			"remove it or use a v2 engine")
	}
	return nil
}

// loginPath is the login endpoint of an auth method mounted at mount (def when empty);
// user, when set, is the last segment (userpass, ldap; validatePassword keeps it one segment).
func loginPath(mount, def, user string) string {
	p := fmt.Sprintf("auth/%s/login", strings.Trim(orDefault(mount, def), "/"))
	if user != "" {
		p += "/" + user
	}
	return p
}
