package vault_test

import (
	"context"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/vault"
	"github.com/vigil-dev/vigil/test/harness"
)

// startTLSVault starts a dev server with TLS listeners, with a KV secret, the reader policy,
// a token for it (Secret tls-token) and the cert auth method trusting the test CA (role app).
func startTLSVault(t *testing.T) *harness.TLSVault {
	t.Helper()
	ctx := context.Background()
	v, err := harness.StartVaultTLS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.KVv2Put(ctx, "secret", "auth-methods", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := v.Policy(ctx, "reader", `path "secret/data/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := v.Admin.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{Policies: []string{"reader"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	enableAuth(t, v.Admin, "cert", "cert", nil)
	write(t, v.Admin, "auth/cert/certs/app", map[string]any{"certificate": string(v.CA), "token_policies": "reader"})
	suffix := strings.ToLower(strings.ReplaceAll(t.Name(), "_", "-"))
	createSecret(t, "tls-token-"+suffix, map[string]string{"token": tok.Auth.ClientToken})
	return v
}

// tlsStore is a token store for server, its token in the Secret startTLSVault made for t.
func tlsStore(t *testing.T, server string, mutate func(*esv1.VaultProvider)) *esv1.SecretStore {
	suffix := strings.ToLower(strings.ReplaceAll(strings.Split(t.Name(), "/")[0], "_", "-"))
	return store(func(p *esv1.VaultProvider) {
		p.Server = server
		p.Auth.TokenSecretRef.Name = "tls-token-" + suffix
		if mutate != nil {
			mutate(p)
		}
	})
}

func clientFails(t *testing.T, s *esv1.SecretStore) error {
	t.Helper()
	p := vault.New(vault.Options{})
	if err := p.ValidateStore(s); err != nil {
		return err
	}
	c, err := p.NewClient(context.Background(), s, cp.Client, ns)
	if err != nil {
		return err
	}
	_, err = c.GetSecret(context.Background(), providers.Ref{Key: "auth-methods"})
	if err == nil {
		t.Fatal("the read succeeded, want a refusal")
	}
	return err
}

// caBundle, caProvider from a Secret and from a ConfigMap each make the client trust the
// test CA; without them the server's certificate is refused.
func TestServerCA(t *testing.T) {
	v := startTLSVault(t)
	ctx := context.Background()
	createSecret(t, "ca-secret", map[string]string{"ca.crt": string(v.CA)})
	if err := cp.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca-configmap"},
		Data: map[string]string{"ca.pem": string(v.CA)}}); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*esv1.VaultProvider){
		"caBundle": func(p *esv1.VaultProvider) { p.CABundle = v.CA },
		"caProvider Secret": func(p *esv1.VaultProvider) {
			p.CAProvider = &esv1.CAProvider{Type: esv1.CAProviderTypeSecret, Name: "ca-secret", Key: "ca.crt"}
		},
		"caProvider ConfigMap": func(p *esv1.VaultProvider) {
			p.CAProvider = &esv1.CAProvider{Type: esv1.CAProviderTypeConfigMap, Name: "ca-configmap", Key: "ca.pem"}
		},
	} {
		t.Run(name, func(t *testing.T) { readsWith(t, tlsStore(t, v.TLSURL, mutate)) })
	}
	err := clientFails(t, tlsStore(t, v.TLSURL, nil))
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("no CA: %v, want the server's certificate refused", err)
	}
	err = clientFails(t, tlsStore(t, v.TLSURL, func(p *esv1.VaultProvider) {
		p.CAProvider = &esv1.CAProvider{Type: esv1.CAProviderTypeConfigMap, Name: "ca-configmap", Key: "missing"}
	}))
	if !strings.Contains(err.Error(), `has no key "missing"`) {
		t.Errorf("caProvider naming a missing key: %v", err)
	}
}

// tls: the listener that requires a client certificate accepts the store's (from a
// kubernetes.io/tls Secret, ESO's default keys) and refuses a store without one.
func TestMutualTLS(t *testing.T) {
	v := startTLSVault(t)
	ctx := context.Background()
	if err := cp.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "client-tls"},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": v.ClientCert, "tls.key": v.ClientKey}}); err != nil {
		t.Fatal(err)
	}
	withCA := func(p *esv1.VaultProvider) { p.CABundle = v.CA }
	readsWith(t, tlsStore(t, v.MTLSURL, func(p *esv1.VaultProvider) {
		withCA(p)
		p.ClientTLS = esv1.VaultClientTLS{CertSecretRef: &esv1.SecretKeySelector{Name: "client-tls"},
			KeySecretRef: &esv1.SecretKeySelector{Name: "client-tls"}}
	}))
	// The listener ends the TLS handshake: Vault never answers. Under TLS 1.3 the client
	// learns it on its first read, as the handshake's alert ("network error") or, when the
	// server has closed first, as a reset: both are the transport refusing, which is the point.
	err := clientFails(t, tlsStore(t, v.MTLSURL, withCA))
	if msg := err.Error(); !strings.Contains(msg, "network error") && !strings.Contains(msg, "connection reset") {
		t.Errorf("no client certificate: %v, want the connection refused", err)
	}
}

// cert: the login presents the client certificate from the Secrets and Vault's cert method
// admits it; a certificate of another CA is refused, and no key material is in the error.
func TestCertLogin(t *testing.T) {
	v := startTLSVault(t)
	createSecret(t, "cert-good", map[string]string{"crt": string(v.ClientCert), "key": string(v.ClientKey)})
	createSecret(t, "cert-other", map[string]string{"crt": string(v.OtherCert), "key": string(v.OtherKey)})
	cert := func(secret string) *esv1.SecretStore {
		return store(func(p *esv1.VaultProvider) {
			p.Server, p.CABundle = v.TLSURL, v.CA
			p.Auth = &esv1.VaultAuth{Cert: &esv1.VaultCertAuth{Path: "cert", VaultRole: "app",
				ClientCert: esv1.SecretKeySelector{Name: secret, Key: "crt"},
				SecretRef:  esv1.SecretKeySelector{Name: secret, Key: "key"}}}
		})
	}
	readsWith(t, cert("cert-good"))
	err := clientFails(t, cert("cert-other"))
	if !strings.Contains(err.Error(), "auth/cert/login") {
		t.Errorf("certificate of an unknown CA: %v, want Vault's refusal at auth/cert/login", err)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(v.OtherKey[40:80])) {
		t.Errorf("the error carries key material: %v", err)
	}
}
