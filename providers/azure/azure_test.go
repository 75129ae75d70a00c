package azure_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/azure"
	"github.com/vigil-dev/vigil/providers/conformance"
	"github.com/vigil-dev/vigil/test/harness"
)

const (
	ns           = "azure-tests"
	clientID     = "11111111-aaaa-4bbb-8ccc-000000000001"
	clientSecret = "sp-secret-Zq8~never-logged"
)

var (
	kv *harness.AzureKV
	cp *harness.ControlPlane
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if kv, err = harness.StartAzureKV(); err != nil {
		fmt.Fprintln(os.Stderr, "azure:", err)
		return 1
	}
	defer kv.Close()
	if cp, err = harness.StartControlPlane(); err != nil {
		fmt.Fprintln(os.Stderr, "azure:", err)
		return 1
	}
	defer func() { _ = cp.Stop() }()
	kv.AddServicePrincipal(clientID, clientSecret)
	ctx := context.Background()
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		fmt.Fprintln(os.Stderr, "azure:", err)
		return 1
	}
	if err := cp.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sp"},
		StringData: map[string]string{"client-id": clientID, "client-secret": clientSecret + "\n"}}); err != nil {
		fmt.Fprintln(os.Stderr, "azure:", err)
		return 1
	}
	return m.Run()
}

func ptr[T any](v T) *T { return &v }

// spStore is a SecretStore for vault with service principal (client secret) auth.
func spStore(vault string) *esv1.SecretStore {
	return &esv1.SecretStore{
		TypeMeta:   metav1.TypeMeta{Kind: esv1.SecretStoreKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "azure"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AzureKV: &esv1.AzureKVProvider{
			VaultURL: ptr(harness.VaultURL(vault)),
			TenantID: ptr(harness.AzureTenant),
			AuthSecretRef: &esv1.AzureKVAuth{
				ClientID:     &esv1.SecretKeySelector{Name: "sp", Key: "client-id"},
				ClientSecret: &esv1.SecretKeySelector{Name: "sp", Key: "client-secret"},
			},
		}}},
	}
}

func newClient(t *testing.T, store esv1.GenericStore) *azure.Client {
	t.Helper()
	p := azure.New(azure.Options{Transport: kv.Transport()})
	if err := p.ValidateStore(store); err != nil {
		t.Fatalf("ValidateStore: %v", err)
	}
	c, err := p.NewClient(context.Background(), store, cp.Client, ns)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c.(*azure.Client)
}

// vaultName is a vault of the test's own.
func vaultName(t *testing.T) string {
	n := strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, strings.ToLower(t.Name()))
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return "t" + n
}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, values map[string]string) providers.Client {
		vault := vaultName(t)
		for k, v := range values {
			kv.SetSecret(vault, k, v, nil)
		}
		return newClient(t, spStore(vault))
	})
}

func TestSecretVersionsAndTags(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	old := kv.SetSecret(vault, "db", `{"password":"old"}`, nil)
	kv.SetSecret(vault, "db", `{"password":"new"}`, map[string]string{"team": "payments", "env": "prod"})
	c := newClient(t, spStore(vault))
	for _, tc := range []struct{ key, version, want string }{
		{"db", "", `{"password":"new"}`},
		{"secret/db", "", `{"password":"new"}`},
		{"db", old, `{"password":"old"}`},
	} {
		got, err := c.GetSecret(ctx, providers.Ref{Key: tc.key, Version: tc.version})
		if err != nil || string(got) != tc.want {
			t.Errorf("GetSecret(%q, version %q) = %q, %v; want %q", tc.key, tc.version, got, err, tc.want)
		}
	}
	tags, err := c.GetMetadata(ctx, providers.Ref{Key: "db"})
	if err != nil || tags["team"] != "payments" || tags["env"] != "prod" || len(tags) != 2 {
		t.Errorf("GetMetadata = %v, %v; want the two tags of the current version", tags, err)
	}
	if tags, err := c.GetMetadata(ctx, providers.Ref{Key: "db", Version: old}); err != nil || len(tags) != 0 {
		t.Errorf("GetMetadata of the old version = %v, %v; want no tags", tags, err)
	}
}

func TestKeyIsPublicJWK(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	kv.ImportKey(vault, "signing", map[string]any{"kty": "RSA", "n": b64(key.N.Bytes()),
		"e": b64(big.NewInt(int64(key.E)).Bytes()), "d": b64(key.D.Bytes()), "key_ops": []string{"sign", "verify"}},
		map[string]string{"purpose": "jwt"})
	c := newClient(t, spStore(vault))
	got, err := c.GetSecret(ctx, providers.Ref{Key: "key/signing"})
	if err != nil {
		t.Fatalf("GetSecret(key/signing): %v", err)
	}
	var jwk map[string]any
	if err := json.Unmarshal(got, &jwk); err != nil {
		t.Fatalf("the key is not JSON: %v", err)
	}
	if jwk["kty"] != "RSA" || jwk["n"] != b64(key.N.Bytes()) || jwk["e"] != "AQAB" || jwk["d"] != nil {
		t.Errorf("key JWK = %v; want the RSA public key (kty, n, e) and no private part", jwk)
	}
	if !strings.HasPrefix(fmt.Sprint(jwk["kid"]), harness.VaultURL(vault)+"/keys/signing/") {
		t.Errorf("kid = %v; want the key's id in the vault", jwk["kid"])
	}
	n, err := providers.SelectProperty(got, providers.Ref{Key: "key/signing"}, "n")
	if err != nil || string(n) != b64(key.N.Bytes()) {
		t.Errorf("property n = %q, %v; want the modulus", n, err)
	}
	if tags, err := c.GetMetadata(ctx, providers.Ref{Key: "key/signing"}); err != nil || tags["purpose"] != "jwt" {
		t.Errorf("GetMetadata(key/signing) = %v, %v", tags, err)
	}
}

func TestCertificateIsDER(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	der := selfSigned(t, "app.example")
	kv.ImportCertificate(vault, "tls", der, map[string]string{"owner": "web"})
	c := newClient(t, spStore(vault))
	got, err := c.GetSecret(ctx, providers.Ref{Key: "cert/tls"})
	if err != nil {
		t.Fatalf("GetSecret(cert/tls): %v", err)
	}
	cert, err := x509.ParseCertificate(got)
	if err != nil || cert.Subject.CommonName != "app.example" {
		t.Fatalf("cert/tls is not the imported certificate's DER: %v", err)
	}
	if tags, err := c.GetMetadata(ctx, providers.Ref{Key: "cert/tls"}); err != nil || tags["owner"] != "web" {
		t.Errorf("GetMetadata(cert/tls) = %v, %v", tags, err)
	}
	if _, err := c.GetSecret(ctx, providers.Ref{Key: "cert/absent"}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("a missing certificate: %v; want ErrNotFound", err)
	}
}

func TestRefusals(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	kv.SetSecret(vault, "off", "v", nil)
	kv.DisableSecret(vault, "off")
	c := newClient(t, spStore(vault))
	for _, tc := range []struct{ key, want string }{
		{"blob/x", `object type "blob" is not one of secret, key or cert`},
		{"secret/a/b", `is not a Key Vault object name`},
		{"under_score", `is not a Key Vault object name`},
	} {
		_, err := c.GetSecret(ctx, providers.Ref{Key: tc.key})
		var cfg *providers.ConfigError
		if !errors.As(err, &cfg) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("GetSecret(%q) = %v; want a ConfigError saying %q", tc.key, err, tc.want)
		}
	}
	_, err := c.GetSecret(ctx, providers.Ref{Key: "off"})
	if be := providers.AsBackendError(err); be == nil || be.Code != "SecretDisabled" || be.Denied {
		t.Errorf("a disabled secret: %v; want Key Vault's SecretDisabled, not a permission problem", err)
	}
}

func TestDeniedNamesPermissionNotValue(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	kv.SetSecret(vault, "locked", "classified-value", nil)
	const denied = "22222222-aaaa-4bbb-8ccc-000000000002"
	kv.AddServicePrincipal(denied, "denied-secret")
	kv.Deny(vault, denied)
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "denied"},
		StringData: map[string]string{"client-id": denied, "client-secret": "denied-secret"}})
	s := spStore(vault)
	s.Spec.Provider.AzureKV.AuthSecretRef.ClientID.Name = "denied"
	s.Spec.Provider.AzureKV.AuthSecretRef.ClientSecret.Name = "denied"
	_, err := newClient(t, s).GetSecret(ctx, providers.Ref{Key: "locked"})
	be := providers.AsBackendError(err)
	if be == nil || !be.Denied || be.Status != 403 || be.Code != "Forbidden" {
		t.Fatalf("GetSecret as a denied identity: %v; want a 403 Forbidden BackendError", err)
	}
	for _, want := range []string{"secrets/get", "Secrets User", denied, harness.VaultURL(vault)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "classified") || strings.Contains(err.Error(), "denied-secret") {
		t.Errorf("error %q carries a value or a credential", err)
	}
}

func TestValidateChecksCredentials(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	if err := newClient(t, spStore(vault)).Validate(ctx); err != nil {
		t.Fatalf("Validate with good credentials: %v", err)
	}
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wrong"},
		StringData: map[string]string{"client-id": clientID, "client-secret": "wrong-secret-xyz"}})
	s := spStore(vault)
	s.Spec.Provider.AzureKV.AuthSecretRef.ClientSecret.Name = "wrong"
	err := newClient(t, s).Validate(ctx)
	if err == nil || !strings.Contains(err.Error(), "invalid_client (AADSTS7000215)") {
		t.Fatalf("Validate with a wrong secret: %v; want Entra ID's invalid_client", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-xyz") || strings.Contains(err.Error(), "Invalid client secret") {
		t.Errorf("error %q carries the secret or Entra ID's text", err)
	}
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := cp.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), o) })
	}
}

// selfSigned returns a self-signed certificate's DER.
func selfSigned(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
