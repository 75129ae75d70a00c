package azure_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/azure"
)

// rsaCertificate returns a self-signed RSA certificate and its PEM with the private key (the
// form authSecretRef.clientCertificate holds).
func rsaCertificate(t *testing.T, cn string) (*x509.Certificate, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
}

// certStore is a SecretStore whose service principal signs in with the certificate in the
// Secret name (keys client-id and tls.pem).
func certStore(vault, name string) *esv1.SecretStore {
	s := spStore(vault)
	s.Spec.Provider.AzureKV.AuthSecretRef = &esv1.AzureKVAuth{
		ClientID:          &esv1.SecretKeySelector{Name: name, Key: "client-id"},
		ClientCertificate: &esv1.SecretKeySelector{Name: name, Key: "tls.pem"},
	}
	return s
}

// A service principal signs in with a client certificate (a signed assertion Entra ID
// verifies against the registered certificate); another certificate is refused as Entra ID
// refuses it, and the message carries neither certificate nor key.
func TestServicePrincipalCertificate(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	const app = "44444444-aaaa-4bbb-8ccc-000000000004"
	cert, bundle := rsaCertificate(t, "vigil-app")
	kv.AddCertificatePrincipal(app, cert)
	kv.SetSecret(vault, "db", "cert-read-value", nil)
	_, other := rsaCertificate(t, "someone-else")
	create(t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sp-cert"},
			StringData: map[string]string{"client-id": app, "tls.pem": bundle}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sp-other-cert"},
			StringData: map[string]string{"client-id": app, "tls.pem": other}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sp-no-cert"},
			StringData: map[string]string{"client-id": app, "tls.pem": "not a certificate"}})
	got, err := newClient(t, certStore(vault, "sp-cert")).GetSecret(ctx, providers.Ref{Key: "db"})
	if err != nil || string(got) != "cert-read-value" {
		t.Fatalf("GetSecret with a client certificate = %q, %v", got, err)
	}
	if kv.TokenRequests(app) == 0 {
		t.Error("Entra ID issued no token to the certificate's app")
	}
	err = newClient(t, certStore(vault, "sp-other-cert")).Validate(ctx)
	if be := providers.AsBackendError(err); be == nil || !strings.Contains(be.Code, "invalid_client") ||
		!strings.Contains(err.Error(), app) {
		t.Errorf("Validate with another certificate: %v; want Entra ID's invalid_client naming the app", err)
	}
	if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("error %q carries key material", err)
	}
	p := azure.New(azure.Options{Transport: kv.Transport()})
	_, err = p.NewClient(ctx, certStore(vault, "sp-no-cert"), cp.Client, ns)
	if err == nil || !strings.Contains(err.Error(), "clientCertificate: the Secret key does not hold a PEM") ||
		strings.Contains(err.Error(), "not a certificate") {
		t.Errorf("NewClient with a non-certificate = %v; want a refusal naming the field, not the value", err)
	}
}

// Managed identity: tokens come from IMDS for the identity identityId names (or the only
// one); an identity IMDS does not have is refused without a request to the vault.
func TestManagedIdentity(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	const mi = "55555555-aaaa-4bbb-8ccc-000000000005"
	kv.SetManagedIdentity(mi)
	t.Cleanup(func() { kv.SetManagedIdentity("") })
	kv.SetSecret(vault, "db", "mi-read-value", nil)
	store := func(id string) *esv1.SecretStore {
		s := spStore(vault)
		s.Spec.Provider.AzureKV.AuthType = ptr(esv1.AzureManagedIdentity)
		s.Spec.Provider.AzureKV.AuthSecretRef, s.Spec.Provider.AzureKV.TenantID = nil, nil
		if id != "" {
			s.Spec.Provider.AzureKV.IdentityID = ptr(id)
		}
		return s
	}
	for _, id := range []string{mi, ""} {
		got, err := newClient(t, store(id)).GetSecret(ctx, providers.Ref{Key: "db"})
		if err != nil || string(got) != "mi-read-value" {
			t.Fatalf("GetSecret with managed identity %q = %q, %v", id, got, err)
		}
	}
	before := len(kv.Requests())
	err := newClient(t, store("66666666-aaaa-4bbb-8ccc-000000000006")).Validate(ctx)
	if err == nil || !strings.Contains(err.Error(), "managed identity 66666666-aaaa-4bbb-8ccc-000000000006") {
		t.Errorf("Validate with an identity the node lacks = %v; want a refusal naming it", err)
	}
	for _, r := range kv.Requests()[before:] {
		if r.Host == vault+".vault.azure.net" {
			t.Errorf("a vault request was sent without a token: %s %s", r.Method, r.Path)
		}
	}
}
