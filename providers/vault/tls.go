package vault

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// maxCABytes bounds a CA bundle read from a Secret or ConfigMap.
const maxCABytes = 1 << 20

// configureCA makes the transport trust the store's CA: caBundle, or else the certificate
// caProvider names (ESO: caBundle wins when both are set). Without either, the system roots.
func configureCA(ctx context.Context, t *http.Transport, store esv1.GenericStore, kube client.Client,
	namespace string) error {
	spec := store.GetSpec().Provider.Vault
	pem, field := spec.CABundle, "spec.provider.vault.caBundle"
	if len(pem) == 0 && spec.CAProvider != nil {
		var err error
		if pem, err = caFromProvider(ctx, kube, store, spec.CAProvider, namespace); err != nil {
			return err
		}
		field = "spec.provider.vault.caProvider"
	}
	if len(pem) == 0 {
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return providers.Configf("%s holds no PEM-encoded certificate; put the CA certificate of Vault's server there", field)
	}
	t.TLSClientConfig.RootCAs = pool
	return nil
}

// caFromProvider reads the CA certificate from the Secret or ConfigMap caProvider names, in
// the store's namespace (SecretStore) or the one it names (ClusterSecretStore; validateTLS).
func caFromProvider(ctx context.Context, kube client.Client, store esv1.GenericStore, ca *esv1.CAProvider,
	namespace string) ([]byte, error) {
	ns, err := providers.StoreNamespace(store, ca.Namespace, namespace)
	if err != nil {
		return nil, err
	}
	key := types.NamespacedName{Namespace: ns, Name: ca.Name}
	var v []byte
	switch ca.Type {
	case esv1.CAProviderTypeSecret:
		var s corev1.Secret
		if err := kube.Get(ctx, key, &s); err != nil {
			return nil, fmt.Errorf("spec.provider.vault.caProvider: reading Secret %s: %w", key, err)
		}
		v = s.Data[ca.Key]
	case esv1.CAProviderTypeConfigMap:
		var cm corev1.ConfigMap
		if err := kube.Get(ctx, key, &cm); err != nil {
			return nil, fmt.Errorf("spec.provider.vault.caProvider: reading ConfigMap %s: %w", key, err)
		}
		v = []byte(cm.Data[ca.Key])
		if len(v) == 0 {
			v = cm.BinaryData[ca.Key]
		}
	default:
		return nil, providers.Configf("spec.provider.vault.caProvider.type %q is not Secret or ConfigMap", ca.Type)
	}
	if len(v) == 0 {
		return nil, providers.Configf("spec.provider.vault.caProvider: %s %s has no key %q", ca.Type, key, ca.Key)
	}
	if len(v) > maxCABytes {
		return nil, providers.Configf("spec.provider.vault.caProvider: %s %s key %q is %d bytes; the limit is %d",
			ca.Type, key, ca.Key, len(v), maxCABytes)
	}
	return v, nil
}

// clientCerts is the client certificate the store's connections present: auth.cert's (TLS
// certificate login), else tls's (mutual TLS), as in ESO. It is read from its Secrets when
// the client is built and again before every login, so a rotated certificate is picked up.
type clientCerts struct {
	store     esv1.GenericStore
	kube      client.Client
	namespace string
	transport *http.Transport

	mu   sync.Mutex
	cert *tls.Certificate
}

// newClientCerts returns nil when the store sends no client certificate.
func newClientCerts(store esv1.GenericStore, kube client.Client, namespace string, t *http.Transport) *clientCerts {
	spec := store.GetSpec().Provider.Vault
	if certRefs(spec) == nil {
		return nil
	}
	c := &clientCerts{store: store, kube: kube, namespace: namespace, transport: t}
	t.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.cert == nil {
			return &tls.Certificate{}, nil // none: the server decides whether that is enough
		}
		return c.cert, nil
	}
	return c
}

// certRef names the Secret keys of a certificate and its key, and the field they come from.
type certRef struct {
	field    string
	cert, pk esv1.SecretKeySelector
}

func certRefs(spec *esv1.VaultProvider) *certRef {
	if a := spec.Auth; a != nil && a.Cert != nil {
		return &certRef{field: "spec.provider.vault.auth.cert", cert: a.Cert.ClientCert, pk: a.Cert.SecretRef}
	}
	t := spec.ClientTLS
	if t.CertSecretRef == nil || t.KeySecretRef == nil {
		return nil
	}
	r := &certRef{field: "spec.provider.vault.tls", cert: *t.CertSecretRef, pk: *t.KeySecretRef}
	// ESO's defaults for a selector without a key: the keys of a kubernetes.io/tls Secret.
	if r.cert.Key == "" {
		r.cert.Key = corev1.TLSCertKey
	}
	if r.pk.Key == "" {
		r.pk.Key = corev1.TLSPrivateKeyKey
	}
	return r
}

// load reads the certificate and key afresh. When they changed, idle connections (made with
// the old certificate) are closed so that the next request presents the new one.
func (c *clientCerts) load(ctx context.Context) error {
	ref := certRefs(c.store.GetSpec().Provider.Vault)
	certPEM, err := providers.SecretKey(ctx, c.kube, c.store, ref.cert, c.namespace)
	if err != nil {
		return fmt.Errorf("%s: %w", ref.field, err)
	}
	keyPEM, err := providers.SecretKey(ctx, c.kube, c.store, ref.pk, c.namespace)
	if err != nil {
		return fmt.Errorf("%s: %w", ref.field, err)
	}
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		// X509KeyPair's text is fixed, but it is not repeated: nothing of a key reaches a message.
		return providers.Configf("%s: the Secrets do not hold a PEM certificate and its matching private key", ref.field)
	}
	c.mu.Lock()
	changed := c.cert == nil || !sameCert(c.cert, &pair)
	c.cert = &pair
	c.mu.Unlock()
	if changed {
		c.transport.CloseIdleConnections()
	}
	return nil
}

func sameCert(a, b *tls.Certificate) bool {
	if len(a.Certificate) != len(b.Certificate) {
		return false
	}
	for i := range a.Certificate {
		if !bytes.Equal(a.Certificate[i], b.Certificate[i]) {
			return false
		}
	}
	return true
}

// before returns login preceded by a fresh read of the certificate: a TLS certificate login
// presents the current one, and a token store's re-login picks up a rotated one.
func (c *clientCerts) before(login loginFn) loginFn {
	return func(ctx context.Context, api *vaultapi.Client) (string, error) {
		if err := c.load(ctx); err != nil {
			return "", err
		}
		return login(ctx, api)
	}
}
