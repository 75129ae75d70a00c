package vault_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/vault"
	"github.com/vigil-dev/vigil/test/harness"
)

// createSecret creates a Secret of the test namespace with the given string data.
func createSecret(t *testing.T, name string, data map[string]string) {
	t.Helper()
	if err := cp.Client.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}); err != nil {
		t.Fatal(err)
	}
}

// enableAuth mounts an auth method of type kind at path and writes its configuration.
func enableAuth(t *testing.T, admin *vaultapi.Client, kind, path string, config map[string]any) {
	t.Helper()
	ctx := context.Background()
	if err := admin.Sys().EnableAuthWithOptionsWithContext(ctx, path, &vaultapi.EnableAuthOptions{Type: kind}); err != nil {
		t.Fatal(err)
	}
	if config != nil {
		if _, err := admin.Logical().WriteWithContext(ctx, "auth/"+path+"/config", config); err != nil {
			t.Fatalf("configuring auth/%s: %v", path, err)
		}
	}
}

func write(t *testing.T, admin *vaultapi.Client, path string, data map[string]any) {
	t.Helper()
	if _, err := admin.Logical().WriteWithContext(context.Background(), path, data); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}

// readsWith builds a client for the store and reads one secret through it: the login
// worked and the token it got carries the reader policy.
func readsWith(t *testing.T, s *esv1.SecretStore) providers.Client {
	t.Helper()
	c := newClient(t, s, vault.Options{})
	got, err := c.GetSecret(context.Background(), providers.Ref{Key: "auth-methods"})
	if err != nil || string(got) != `{"k":"v"}` {
		t.Fatalf("read after login: %s, %v", got, err)
	}
	return c
}

// loginFails builds a client for the store and returns the login's error; the error must
// carry none of the credentials.
func loginFails(t *testing.T, s *esv1.SecretStore, credentials ...string) error {
	t.Helper()
	p := vault.New(vault.Options{AllowHTTPHosts: harness.LoopbackHTTP})
	if err := p.ValidateStore(s); err != nil {
		t.Fatal(err)
	}
	_, err := p.NewClient(context.Background(), s, cp.Client, ns)
	if err == nil {
		t.Fatal("login succeeded, want a refusal")
	}
	for _, c := range credentials {
		if strings.Contains(err.Error(), c) {
			t.Errorf("the login error carries a credential: %v", err)
		}
	}
	return err
}

// userPass logs in as user app with the password in Secret name.
func userPass(name string) func(*esv1.VaultProvider) {
	return func(p *esv1.VaultProvider) {
		p.Auth = &esv1.VaultAuth{UserPass: &esv1.VaultUserPassAuth{Path: "userpass", Username: "app",
			SecretRef: esv1.SecretKeySelector{Name: name, Key: "password"}}}
	}
}

// userPass: the password comes from the Secret, a wrong one is refused with the login path
// and Vault's status only, and the token logged in for is revoked on Close.
func TestUserPassLogin(t *testing.T) {
	put(t, "secret", true, "auth-methods", `{"k":"v"}`)
	enableAuth(t, vlt.Admin, "userpass", "userpass", nil)
	const password = "userpass-Pa55-7b1e"
	write(t, vlt.Admin, "auth/userpass/users/app", map[string]any{"password": password, "token_policies": "reader"})
	createSecret(t, "userpass-good", map[string]string{"password": password})
	createSecret(t, "userpass-bad", map[string]string{"password": "wrong-Pa55-c0de"})

	c := readsWith(t, store(userPass("userpass-good")))
	token := vault.Token(c.(*vault.Client))
	c.(providers.Closer).Close()
	if _, err := vlt.Admin.Auth().Token().LookupWithContext(context.Background(), token); err == nil {
		t.Error("the userpass token is still valid after Close, want it revoked")
	}

	err := loginFails(t, store(userPass("userpass-bad")), "wrong-Pa55-c0de", password)
	if !strings.Contains(err.Error(), "auth/userpass/login/app") || !strings.Contains(err.Error(), "400") {
		t.Errorf("wrong password: %v, want the login path and Vault's status 400", err)
	}
}

// ldap against a real OpenLDAP slapd: Vault binds as uid=<user>,ou=users,... with the
// password from the Secret; a wrong password is refused.
func TestLDAPLogin(t *testing.T) {
	const password = "ldap-Pa55-51ap"
	l, err := harness.StartLDAP(harness.LDAPUser{Name: "alice", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	put(t, "secret", true, "auth-methods", `{"k":"v"}`)
	enableAuth(t, vlt.Admin, "ldap", "corp-ldap", map[string]any{
		"url": l.URL, "userdn": l.UserDN, "userattr": "uid", "token_policies": "reader",
	})
	createSecret(t, "ldap-good", map[string]string{"pw": password})
	createSecret(t, "ldap-bad", map[string]string{"pw": "wrong-ldap-Pa55"})
	ldap := func(secret string) func(*esv1.VaultProvider) {
		return func(p *esv1.VaultProvider) {
			p.Auth = &esv1.VaultAuth{Ldap: &esv1.VaultLdapAuth{Path: "corp-ldap", Username: "alice",
				SecretRef: esv1.SecretKeySelector{Name: secret, Key: "pw"}}}
		}
	}
	readsWith(t, store(ldap("ldap-good")))
	err = loginFails(t, store(ldap("ldap-bad")), "wrong-ldap-Pa55", password)
	if !strings.Contains(err.Error(), "auth/corp-ldap/login/alice") {
		t.Errorf("wrong LDAP password: %v, want the login path named", err)
	}
}

// jwt: Vault verifies ServiceAccount tokens with the API server's signing key; a token
// minted for the store's ServiceAccount (audience vault by default), one from a Secret, and
// one minted for an audience the role does not accept (refused).
func TestJWTLogin(t *testing.T) {
	ctx := context.Background()
	put(t, "secret", true, "auth-methods", `{"k":"v"}`)
	enableAuth(t, vlt.Admin, "jwt", "k8s-jwt", map[string]any{"jwt_validation_pubkeys": []string{signingKey(t)}})
	write(t, vlt.Admin, "auth/k8s-jwt/role/app", map[string]any{
		"role_type": "jwt", "bound_audiences": []string{"vault"}, "user_claim": "sub",
		"bound_subject": "system:serviceaccount:" + ns + ":app", "token_policies": "reader", "token_ttl": "1h",
	})
	minted := func(audiences *[]string) func(*esv1.VaultProvider) {
		return func(p *esv1.VaultProvider) {
			p.Auth = &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{Path: "k8s-jwt", Role: "app",
				KubernetesServiceAccountToken: &esv1.VaultKubernetesServiceAccountTokenAuth{
					ServiceAccountRef: esv1.ServiceAccountSelector{Name: "app"}, Audiences: audiences,
					ExpirationSeconds: ptr(int64(900))}}}
		}
	}
	readsWith(t, store(minted(nil)))

	seconds := int64(3600)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}, ExpirationSeconds: &seconds}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}}
	if err := cp.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatal(err)
	}
	createSecret(t, "jwt-token", map[string]string{"jwt": tr.Status.Token})
	readsWith(t, store(func(p *esv1.VaultProvider) {
		p.Auth = &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{Path: "k8s-jwt", Role: "app",
			SecretRef: &esv1.SecretKeySelector{Name: "jwt-token", Key: "jwt"}}}
	}))

	err := loginFails(t, store(minted(&[]string{"not-vault"})))
	if !strings.Contains(err.Error(), "auth/k8s-jwt/login") {
		t.Errorf("token for another audience: %v, want Vault's refusal at auth/k8s-jwt/login", err)
	}
}

// signingKey returns the public key the test API server signs ServiceAccount tokens with,
// PEM-encoded (Vault's jwt_validation_pubkeys).
func signingKey(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cp.Env.ControlPlane.APIServer.CertDir, "sa-signer.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("sa-signer.crt holds no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Each new auth method and TLS option refuses what it cannot use, naming the field.
func TestValidateStore_AuthMethodsAndTLS(t *testing.T) {
	pw := esv1.SecretKeySelector{Name: "pw", Key: "password"}
	up := func(user, path string) func(*esv1.VaultProvider) {
		return func(p *esv1.VaultProvider) {
			p.Auth = &esv1.VaultAuth{UserPass: &esv1.VaultUserPassAuth{Path: path, Username: user, SecretRef: pw}}
		}
	}
	for name, tc := range map[string]struct {
		mutate func(*esv1.VaultProvider)
		want   string
	}{
		"username leaves the path": {up("../../sys/x", "userpass"), "username may not contain /"},
		"mount path with ..":       {up("app", "userpass/../../sys"), "is not a mount path"},
		"ldap without password": {func(p *esv1.VaultProvider) {
			p.Auth = &esv1.VaultAuth{Ldap: &esv1.VaultLdapAuth{Path: "ldap", Username: "alice"}}
		}, "ldap.secretRef needs name and key"},
		"jwt without a token source": {func(p *esv1.VaultProvider) {
			p.Auth = &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{Path: "jwt", Role: "r"}}
		}, "needs secretRef (a Secret holding a JWT) or kubernetesServiceAccountToken"},
		"jwt token for a minute": {func(p *esv1.VaultProvider) {
			p.Auth = &esv1.VaultAuth{Jwt: &esv1.VaultJwtAuth{Path: "jwt", KubernetesServiceAccountToken: &esv1.VaultKubernetesServiceAccountTokenAuth{
				ServiceAccountRef: esv1.ServiceAccountSelector{Name: "app"}, ExpirationSeconds: ptr(int64(60))}}}
		}, "expirationSeconds is 60; set it between 600 and 86400"},
		"cert over http": {func(p *esv1.VaultProvider) {
			p.Auth = &esv1.VaultAuth{Cert: &esv1.VaultCertAuth{ClientCert: pw, SecretRef: pw}}
		}, "server must be an https:// address"},
		"tls certificate without key": {func(p *esv1.VaultProvider) {
			p.ClientTLS.CertSecretRef = &esv1.SecretKeySelector{Name: "tls"}
		}, "needs both certSecretRef and keySecretRef"},
		"caProvider of another namespace": {func(p *esv1.VaultProvider) {
			p.CAProvider = &esv1.CAProvider{Type: esv1.CAProviderTypeSecret, Name: "ca", Key: "ca.crt", Namespace: ptr("kube-system")}
		}, "own namespace"},
		"checkAndSet on KV v1": {func(p *esv1.VaultProvider) {
			p.Version, p.CheckAndSet = esv1.VaultKVStoreV1, &esv1.VaultCheckAndSet{Required: true}
		}, "checkAndSet is not supported with KV version v1"},
		"iam without a Vault role": {func(p *esv1.VaultProvider) {
			p.Auth = &esv1.VaultAuth{Iam: &esv1.VaultIamAuth{Region: "us-east-1"}}
		}, "iam.vaultRole is empty"},
	} {
		err := vault.New(vault.Options{AllowHTTPHosts: harness.LoopbackHTTP}).ValidateStore(store(tc.mutate))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
	css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "vault"}, Spec: store(func(p *esv1.VaultProvider) {
		p.CAProvider = &esv1.CAProvider{Type: esv1.CAProviderTypeConfigMap, Name: "ca", Key: "ca.crt"}
	}).Spec}
	if err := vault.New(vault.Options{AllowHTTPHosts: harness.LoopbackHTTP}).ValidateStore(css); err == nil ||
		!strings.Contains(err.Error(), "caProvider.namespace is empty") {
		t.Errorf("ClusterSecretStore caProvider without namespace: %v", err)
	}
}
