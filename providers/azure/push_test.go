package azure_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/test/harness"
)

// vaultWrites counts the requests that changed a vault's objects (PUT, PATCH, DELETE, POST).
func vaultWrites(vault string) int {
	n := 0
	for _, r := range kv.Requests() {
		if r.Host == vault+".vault.azure.net" && r.Method != "GET" && r.Status < 300 {
			n++
		}
	}
	return n
}

func metadata(raw string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(raw)} }

func TestPushCreatesMarkedAndWritesNoVersionWhenUnchanged(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	c := newClient(t, spStore(vault))
	ref := providers.PushRef{Key: "secret/db", Metadata: metadata(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1",
		"kind":"PushSecretMetadata","spec":{"contentType":"text/plain","expirationDate":"2031-01-02T03:04:05Z",
		"tags":{"team":"payments"}}}`)}
	if err := c.PushSecret(ctx, ref, []byte("s3cret"), false); err != nil {
		t.Fatalf("PushSecret (create): %v", err)
	}
	o, ok := kv.Object(vault, "secrets", "db")
	want := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC).Unix()
	if !ok || o.Value != "s3cret" || o.Tags["managed-by"] != "external-secrets" || o.Tags["team"] != "payments" ||
		o.ContentType != "text/plain" || o.Expires != want || o.Versions != 1 {
		t.Fatalf("after the push the vault holds %+v; want the value, tags managed-by and team, contentType, expiry", o)
	}
	writes := vaultWrites(vault)
	if err := c.PushSecret(ctx, ref, []byte("s3cret"), false); err != nil {
		t.Fatalf("PushSecret (same value): %v", err)
	}
	if o, _ := kv.Object(vault, "secrets", "db"); o.Versions != 1 || vaultWrites(vault) != writes {
		t.Errorf("the same push again made %d writes and the secret has %d versions; want none and 1",
			vaultWrites(vault)-writes, o.Versions)
	}
	// A tag change updates the current version, without a new one.
	ref.Metadata = metadata(`{"spec":{"contentType":"text/plain","expirationDate":"2031-01-02T03:04:05Z",
		"tags":{"team":"billing"}}}`)
	if err := c.PushSecret(ctx, ref, []byte("s3cret"), false); err != nil {
		t.Fatalf("PushSecret (new tag): %v", err)
	}
	if o, _ := kv.Object(vault, "secrets", "db"); o.Versions != 1 || o.Tags["team"] != "billing" ||
		o.Tags["managed-by"] != "external-secrets" || o.Value != "s3cret" {
		t.Errorf("after a tag change the vault holds %+v; want the same version with team=billing", o)
	}
	if err := c.PushSecret(ctx, ref, []byte("rotated"), false); err != nil {
		t.Fatalf("PushSecret (new value): %v", err)
	}
	if o, _ := kv.Object(vault, "secrets", "db"); o.Versions != 2 || o.Value != "rotated" ||
		o.Tags["managed-by"] != "external-secrets" || o.Tags["team"] != "billing" || o.ContentType != "text/plain" {
		t.Errorf("after a new value the vault holds %+v; want a second version with the tags and contentType", o)
	}
	if got, err := c.GetSecret(ctx, providers.Ref{Key: "db"}); err != nil || string(got) != "rotated" {
		t.Errorf("GetSecret after the push = %q, %v", got, err)
	}
}

func TestPushLeavesOthersSecrets(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	kv.SetSecret(vault, "theirs", "original", map[string]string{"owner": "someone"})
	c := newClient(t, spStore(vault))
	ref := providers.PushRef{Key: "theirs"}
	err := c.PushSecret(ctx, ref, []byte("mine"), false)
	if !errors.Is(err, providers.ErrNotManaged) {
		t.Fatalf("PushSecret over a secret Vigil did not create: %v; want ErrNotManaged", err)
	}
	if o, _ := kv.Object(vault, "secrets", "theirs"); o.Value != "original" || o.Versions != 1 {
		t.Fatalf("the refused push changed the secret: %+v", o)
	}
	if err := c.DeleteSecret(ctx, ref); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("DeleteSecret of a secret Vigil did not create: %v; want ErrNotManaged", err)
	}
	// updatePolicy Replace overwrites, keeping the owner's tags and not taking ownership:
	// deletionPolicy Delete still leaves it.
	if err := c.PushSecret(ctx, ref, []byte("mine"), true); err != nil {
		t.Fatalf("PushSecret with overwrite: %v", err)
	}
	o, _ := kv.Object(vault, "secrets", "theirs")
	if o.Value != "mine" || o.Tags["owner"] != "someone" || o.Tags["managed-by"] != "" || o.Deleted {
		t.Errorf("after the overwrite the vault holds %+v; want the value, the owner's tag and no managed-by", o)
	}
	if err := c.DeleteSecret(ctx, ref); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("DeleteSecret after an overwrite: %v; want ErrNotManaged", err)
	}
}

func TestPushPropertyExistsAndDelete(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	c := newClient(t, spStore(vault))
	user, pass := providers.PushRef{Key: "app", Property: "user"}, providers.PushRef{Key: "app", Property: "pass"}
	if ok, err := c.SecretExists(ctx, user); ok || err != nil {
		t.Fatalf("SecretExists before any push = %v, %v; want false", ok, err)
	}
	for _, p := range []struct {
		ref providers.PushRef
		v   string
	}{{user, "alice"}, {pass, "pw1"}} {
		if err := c.PushSecret(ctx, p.ref, []byte(p.v), false); err != nil {
			t.Fatalf("PushSecret(%v): %v", p.ref, err)
		}
	}
	if o, _ := kv.Object(vault, "secrets", "app"); o.Value != `{"user":"alice","pass":"pw1"}` {
		t.Fatalf("the secret holds %q; want both properties", o.Value)
	}
	if ok, err := c.SecretExists(ctx, pass); !ok || err != nil {
		t.Errorf("SecretExists(pass) = %v, %v; want true", ok, err)
	}
	if ok, err := c.SecretExists(ctx, providers.PushRef{Key: "app", Property: "other"}); ok || err != nil {
		t.Errorf("SecretExists(other) = %v, %v; want false", ok, err)
	}
	if err := c.DeleteSecret(ctx, pass); err != nil {
		t.Fatalf("DeleteSecret(pass): %v", err)
	}
	if o, _ := kv.Object(vault, "secrets", "app"); o.Value != `{"user":"alice"}` || o.Deleted ||
		o.Tags["managed-by"] != "external-secrets" {
		t.Fatalf("after deleting one property the vault holds %+v; want the other, still marked", o)
	}
	if err := c.DeleteSecret(ctx, user); err != nil {
		t.Fatalf("DeleteSecret(user): %v", err)
	}
	if o, ok := kv.Object(vault, "secrets", "app"); !ok || !o.Deleted {
		t.Fatalf("after deleting the last property the secret is %+v; want it soft-deleted", o)
	}
	if err := c.DeleteSecret(ctx, user); err != nil {
		t.Errorf("DeleteSecret of a deleted secret: %v; want nil", err)
	}
	// Key Vault keeps the soft-deleted name: a new push names the cause and the fix.
	err := c.PushSecret(ctx, user, []byte("bob"), false)
	if be := providers.AsBackendError(err); be == nil || be.Code != "ObjectIsDeletedButRecoverable" ||
		!strings.Contains(err.Error(), "recover or purge it") {
		t.Errorf("a push to a soft-deleted name: %v; want ObjectIsDeletedButRecoverable with the fix", err)
	}
}

func TestPushRefusals(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	c := newClient(t, spStore(vault))
	der := selfSigned(t, "cert.example")
	kv.ImportCertificate(vault, "tls", der, nil)
	kv.SetSecret(vault, "text", "not json", map[string]string{"managed-by": "external-secrets"})
	for _, tc := range []struct {
		ref   providers.PushRef
		value string
		want  string
	}{
		{providers.PushRef{Key: "key/k"}, "v", "is not one PEM private key"},
		{providers.PushRef{Key: "key/k"}, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
			`PEM block "CERTIFICATE" is not a private key`},
		{providers.PushRef{Key: "key/k"}, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
			"the PRIVATE KEY PEM block does not parse"},
		{providers.PushRef{Key: "key/k", Property: "p"}, "v", "a key is pushed whole"},
		{providers.PushRef{Key: "key/k", Metadata: metadata(`{"spec":{"contentType":"x"}}`)}, rsaPEM(t),
			"contentType is for secrets"},
		{providers.PushRef{Key: "cert/c"}, "v", "not certificates"},
		{providers.PushRef{Key: "a/b/c"}, "v", "is not one of secret, key or cert"},
		{providers.PushRef{Key: "bad_name"}, "v", "is not a Key Vault object name"},
		{providers.PushRef{Key: "big"}, strings.Repeat("x", 25*1024+1), "Key Vault keeps secrets of up to 25600 bytes"},
		{providers.PushRef{Key: "text", Property: "p"}, "v", "needs the remote secret to hold a JSON object"},
		{providers.PushRef{Key: "m", Metadata: metadata(`{"spec":{"tags":{"managed-by":"me"}}}`)}, "v",
			`may not set the "managed-by" tag`},
		{providers.PushRef{Key: "m", Metadata: metadata(`{"spec":{"expirationDate":"tomorrow"}}`)}, "v",
			"is not an RFC 3339 time"},
		{providers.PushRef{Key: "m", Metadata: metadata(`{"spec":{"secretPushFormat":"string"}}`)}, "v",
			`unknown field "secretPushFormat"`},
	} {
		err := c.PushSecret(ctx, tc.ref, []byte(tc.value), true)
		var cfg *providers.ConfigError
		if !errors.As(err, &cfg) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PushSecret(%v) = %v; want a ConfigError saying %q", tc.ref, err, tc.want)
		}
	}
	// The secret behind a certificate is Key Vault's own.
	err := c.PushSecret(ctx, providers.PushRef{Key: "tls"}, []byte("v"), true)
	if err == nil || !strings.Contains(err.Error(), "the secret of a Key Vault certificate") {
		t.Errorf("PushSecret over a certificate's secret = %v; want a refusal", err)
	}
	if _, ok := kv.Object(vault, "secrets", "big"); ok {
		t.Error("a refused push created a secret")
	}
}

func TestPushDeniedNamesPermission(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	const denied = "33333333-aaaa-4bbb-8ccc-000000000003"
	kv.AddServicePrincipal(denied, "denied-push")
	kv.Deny(vault, denied)
	create(t, secretOf("push-denied", denied, "denied-push"))
	s := spStore(vault)
	s.Spec.Provider.AzureKV.AuthSecretRef.ClientID.Name = "push-denied"
	s.Spec.Provider.AzureKV.AuthSecretRef.ClientSecret.Name = "push-denied"
	err := newClient(t, s).PushSecret(ctx, providers.PushRef{Key: "x"}, []byte("pushed-value"), false)
	be := providers.AsBackendError(err)
	if be == nil || !be.Denied || !strings.Contains(err.Error(), harness.VaultURL(vault)) {
		t.Fatalf("PushSecret as a denied identity: %v; want a 403 naming the vault", err)
	}
	if strings.Contains(err.Error(), "pushed-value") {
		t.Errorf("error %q carries the value", err)
	}
}

func secretOf(name, id, secret string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		StringData: map[string]string{"client-id": id, "client-secret": secret}}
}

func rsaPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// A PEM private key pushed to key/<name> is imported as a Key Vault key (RSA from PKCS #1,
// EC from PKCS #8), marked managed-by; the same key again writes nothing, a tag change
// updates the version, another key is a new version; delete soft-deletes it.
func TestPushKeyImportsPEM(t *testing.T) {
	vault, ctx := vaultName(t), context.Background()
	c := newClient(t, spStore(vault))
	ref := providers.PushRef{Key: "key/signing", Metadata: metadata(`{"spec":{"tags":{"use":"jwt"}}}`)}
	first := rsaPEM(t)
	if err := c.PushSecret(ctx, ref, []byte(first), false); err != nil {
		t.Fatalf("PushSecret(key/signing): %v", err)
	}
	o, ok := kv.Object(vault, "keys", "signing")
	block, _ := pem.Decode([]byte(first))
	k, _ := x509.ParsePKCS1PrivateKey(block.Bytes)
	b64 := base64.RawURLEncoding.EncodeToString
	if !ok || o.Key["kty"] != "RSA" || o.Key["n"] != b64(k.N.Bytes()) || o.Key["e"] != "AQAB" ||
		o.Tags["managed-by"] != "external-secrets" || o.Tags["use"] != "jwt" || o.Versions != 1 {
		t.Fatalf("key/signing in the vault: %v, tags %v, %d versions; want the RSA key, marked and tagged", ok, o.Tags,
			o.Versions)
	}
	writes := vaultWrites(vault)
	if err := c.PushSecret(ctx, ref, []byte(first), false); err != nil || vaultWrites(vault) != writes {
		t.Errorf("the same key again: %v, %d writes; want none", err, vaultWrites(vault)-writes)
	}
	ref.Metadata = metadata(`{"spec":{"tags":{"use":"jws"}}}`)
	if err := c.PushSecret(ctx, ref, []byte(first), false); err != nil {
		t.Fatalf("PushSecret (new tag): %v", err)
	}
	if o, _ := kv.Object(vault, "keys", "signing"); o.Versions != 1 || o.Tags["use"] != "jws" ||
		o.Tags["managed-by"] != "external-secrets" {
		t.Errorf("after a tag change: tags %v, %d versions; want use=jws on the same version", o.Tags, o.Versions)
	}
	if err := c.PushSecret(ctx, ref, []byte(rsaPEM(t)), false); err != nil {
		t.Fatalf("PushSecret (another key): %v", err)
	}
	if o, _ := kv.Object(vault, "keys", "signing"); o.Versions != 2 || o.Key["n"] == b64(k.N.Bytes()) {
		t.Errorf("another key made %d versions; want a second one with the new modulus", o.Versions)
	}

	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecRef := providers.PushRef{Key: "key/ec"}
	if err := c.PushSecret(ctx, ecRef, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), false); err != nil {
		t.Fatalf("PushSecret(key/ec): %v", err)
	}
	if o, _ := kv.Object(vault, "keys", "ec"); o.Key["crv"] != "P-384" || o.Key["x"] != b64(ec.X.FillBytes(make([]byte, 48))) ||
		o.Key["d"] != nil {
		t.Errorf("key/ec in the vault: %v; want the P-384 public key", o.Key)
	}
	if ok, err := c.SecretExists(ctx, ecRef); !ok || err != nil {
		t.Errorf("SecretExists(key/ec) = %v, %v", ok, err)
	}
	if err := c.DeleteSecret(ctx, ecRef); err != nil {
		t.Fatalf("DeleteSecret(key/ec): %v", err)
	}
	if o, _ := kv.Object(vault, "keys", "ec"); !o.Deleted {
		t.Error("key/ec is not soft-deleted")
	}
	kv.ImportKey(vault, "theirs", map[string]any{"kty": "RSA", "n": b64(k.N.Bytes()), "e": "AQAB"}, nil)
	if err := c.PushSecret(ctx, providers.PushRef{Key: "key/theirs"}, []byte(first), false); !errors.Is(err,
		providers.ErrNotManaged) {
		t.Errorf("a push over a key Vigil did not create: %v; want ErrNotManaged", err)
	}
	if err := c.DeleteSecret(ctx, providers.PushRef{Key: "key/theirs"}); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("DeleteSecret of a key Vigil did not create: %v; want ErrNotManaged", err)
	}
}
