package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// TLSVault is a Vault dev server that also listens with TLS, for the tests of caBundle,
// caProvider, mutual TLS and TLS certificate login: TLSURL asks for a client certificate
// and accepts connections without one; MTLSURL refuses a connection without a client
// certificate that CA signed. The server certificate is for 127.0.0.1, signed by CA.
type TLSVault struct {
	*Vault
	TLSURL, MTLSURL string
	// CA is the PEM certificate of the test CA; ClientCert and ClientKey a client certificate
	// it signed (CN vigil-client), PEM.
	CA, ClientCert, ClientKey []byte
	// OtherCert and OtherKey are a client certificate of another CA (unknown to Vault).
	OtherCert, OtherKey []byte
	certDir             string
}

// Close stops the server and removes its files and certificates.
func (t *TLSVault) Close() {
	t.Vault.Close()
	os.RemoveAll(t.certDir)
}

// StartVaultTLS starts the dev server with the two TLS listeners beside its http one.
func StartVaultTLS() (*TLSVault, error) {
	dir, err := os.MkdirTemp("", "vigil-vault-tls-")
	if err != nil {
		return nil, err
	}
	ca, err := newTestCA("vigil-test-ca")
	if err != nil {
		return nil, err
	}
	other, err := newTestCA("unknown-ca")
	if err != nil {
		return nil, err
	}
	t := &TLSVault{CA: ca.certPEM}
	serverCert, serverKey, err := ca.issue("127.0.0.1", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	if t.ClientCert, t.ClientKey, err = ca.issue("vigil-client", x509.ExtKeyUsageClientAuth); err != nil {
		return nil, err
	}
	if t.OtherCert, t.OtherKey, err = other.issue("vigil-client", x509.ExtKeyUsageClientAuth); err != nil {
		return nil, err
	}
	files := map[string][]byte{"ca.crt": ca.certPEM, "server.crt": serverCert, "server.key": serverKey}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	tlsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	mtlsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	listener := func(port int, extra string) string {
		return fmt.Sprintf("listener \"tcp\" {\n  address = \"127.0.0.1:%d\"\n"+
			"  tls_cert_file = %q\n  tls_key_file = %q\n%s}\n",
			port, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), extra)
	}
	config := listener(tlsPort, "") + listener(mtlsPort, fmt.Sprintf(
		"  tls_require_and_verify_client_cert = true\n  tls_client_ca_file = %q\n", filepath.Join(dir, "ca.crt")))
	v, err := startVault(config)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	t.Vault, t.certDir = v, dir
	t.TLSURL = "https://127.0.0.1:" + strconv.Itoa(tlsPort)
	t.MTLSURL = "https://127.0.0.1:" + strconv.Itoa(mtlsPort)
	return t, nil
}

// testCA signs the certificates of the TLS tests.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newTestCA(name string) (*testCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// issue returns a certificate and key (PEM) for name: an IP address for a server, a common
// name for a client.
func (ca *testCA) issue(name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}
