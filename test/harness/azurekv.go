package harness

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// AzureKV is a local Azure Key Vault and Entra ID for tests: no Key Vault emulator is served
// by the package registries this project can use (Lowkey Vault is not on Maven Central here),
// so this server speaks the parts of the Key Vault REST API (2026-04-01 and 2025-07-01, the
// versions azsecrets v1.5 and azkeys v1.5 send) and of Entra ID's token endpoints that the provider uses, with the
// real service's status codes, error codes and challenge:
//
//   - every vault, https://<name>.vault.azure.net: a request without a valid bearer token gets
//     401 with the WWW-Authenticate challenge (authorization=<authority>/<tenant>,
//     resource=https://vault.azure.net); secrets (GET, PUT, list with paging, versions,
//     DELETE with soft delete: a deleted name is 409 ObjectIsDeletedButRecoverable until it is
//     recovered or purged), keys (GET, import, DELETE), certificates (GET, import, DELETE);
//     errors as {"error":{"code":"SecretNotFound",…}}; 403 Forbidden/ForbiddenByRbac for an
//     identity denied on a vault;
//   - Entra ID at https://login.microsoftonline.com: OpenID metadata and the v2.0 token
//     endpoint, checking a client secret, a client certificate assertion (signature against
//     the registered certificate) or a federated ServiceAccount token (subject and audience);
//   - IMDS at http://169.254.169.254 for managed identity.
//
// Clients reach it through Transport, which trusts its CA and dials it for every host: the
// provider under test runs with its production URLs and only its transport is the test's.
type AzureKV struct {
	kv   *httptest.Server // Key Vault and Entra ID, TLS
	imds *httptest.Server // IMDS, plain http
	ca   *x509.CertPool

	mu       sync.Mutex
	vaults   map[string]*azVault // by host
	apps     map[string]*azApp   // by client id
	tokens   map[string]azToken
	managed  string // client id of the managed identity IMDS issues tokens for; "" none
	requests []AzureRequest
}

// AzureTenant is the tenant of every vault and app the harness serves.
const AzureTenant = "7a1e5c4d-0000-4000-8000-00000000c0de"

// AzureRequest is one request the harness served.
type AzureRequest struct {
	Method, Host, Path string
	// Client is the client id of the bearer token (Key Vault), or of the token request.
	Client string
	Status int
}

type azApp struct {
	secret    string
	cert      *x509.Certificate
	subject   string // federated credential: system:serviceaccount:<ns>:<name>
	denied    map[string]bool
	tokenReqs int
}

type azToken struct {
	client   string
	audience string
	expires  time.Time
}

// StartAzureKV starts the harness's servers.
func StartAzureKV() (*AzureKV, error) {
	cert, pool, err := azureServingCert()
	if err != nil {
		return nil, err
	}
	a := &AzureKV{ca: pool, vaults: map[string]*azVault{}, apps: map[string]*azApp{}, tokens: map[string]azToken{}}
	a.kv = httptest.NewUnstartedServer(http.HandlerFunc(a.serveTLS))
	a.kv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	a.kv.StartTLS()
	a.imds = httptest.NewServer(http.HandlerFunc(a.serveIMDS))
	return a, nil
}

var (
	azureOnce sync.Once
	azureKV   *AzureKV
	azureErr  error
)

// SharedAzureKV returns the process's AzureKV, starting it on first use: the e2e controller's
// registry and the tests share it (each test uses vaults and apps of its own names).
func SharedAzureKV() (*AzureKV, error) {
	azureOnce.Do(func() { azureKV, azureErr = StartAzureKV() })
	return azureKV, azureErr
}

// Close stops the servers.
func (a *AzureKV) Close() {
	a.kv.Close()
	a.imds.Close()
}

// Transport returns a transport that trusts the harness's CA and dials the harness for every
// host: port 80 (IMDS) to the plain server, every other port to the TLS server.
func (a *AzureKV) Transport() *http.Transport {
	tlsAddr, plainAddr := a.kv.Listener.Addr().String(), a.imds.Listener.Addr().String()
	var d net.Dialer
	return &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: a.ca, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if strings.HasSuffix(addr, ":80") {
				return d.DialContext(ctx, network, plainAddr)
			}
			return d.DialContext(ctx, network, tlsAddr)
		},
		ForceAttemptHTTP2: true,
	}
}

// VaultURL returns the URL of the vault name.
func VaultURL(name string) string { return "https://" + name + ".vault.azure.net" }

// AddServicePrincipal registers an app that authenticates with a client secret.
func (a *AzureKV) AddServicePrincipal(clientID, secret string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.apps[clientID] = &azApp{secret: secret, denied: map[string]bool{}}
}

// AddCertificatePrincipal registers an app that authenticates with a client certificate.
func (a *AzureKV) AddCertificatePrincipal(clientID string, cert *x509.Certificate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.apps[clientID] = &azApp{cert: cert, denied: map[string]bool{}}
}

// AddFederatedPrincipal registers an app with a federated credential for a ServiceAccount.
func (a *AzureKV) AddFederatedPrincipal(clientID, namespace, serviceAccount string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.apps[clientID] = &azApp{subject: "system:serviceaccount:" + namespace + ":" + serviceAccount,
		denied: map[string]bool{}}
}

// SetManagedIdentity makes IMDS issue tokens for clientID (registered as an app if new);
// "" turns managed identity off (IMDS answers 400 as a VM without identity does).
func (a *AzureKV) SetManagedIdentity(clientID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.managed = clientID
	if _, ok := a.apps[clientID]; !ok && clientID != "" {
		a.apps[clientID] = &azApp{denied: map[string]bool{}}
	}
}

// Deny makes vault answer 403 ForbiddenByRbac to clientID.
func (a *AzureKV) Deny(vault, clientID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if app, ok := a.apps[clientID]; ok {
		app.denied[strings.ToLower(vault)] = true
	}
}

// TokenRequests returns how many tokens clientID was issued.
func (a *AzureKV) TokenRequests(clientID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if app, ok := a.apps[clientID]; ok {
		return app.tokenReqs
	}
	return 0
}

// Requests returns the requests served so far.
func (a *AzureKV) Requests() []AzureRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AzureRequest(nil), a.requests...)
}

func (a *AzureKV) record(r *http.Request, client string, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.requests) < 100000 {
		a.requests = append(a.requests, AzureRequest{Method: r.Method, Host: hostOnly(r.Host), Path: r.URL.Path,
			Client: client, Status: status})
	}
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return strings.ToLower(h)
	}
	return strings.ToLower(hostport)
}

func (a *AzureKV) serveTLS(w http.ResponseWriter, r *http.Request) {
	host := hostOnly(r.Host)
	switch {
	case host == azureLoginHost:
		a.serveEntra(w, r)
	case strings.HasSuffix(host, ".vault.azure.net"):
		a.serveVault(w, r, strings.TrimSuffix(host, ".vault.azure.net"))
	default:
		http.NotFound(w, r)
	}
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// azureServingCert makes a CA and a serving certificate for the hosts the harness answers.
func azureServingCert() (tls.Certificate, *x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test Azure CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "vault.azure.net"},
		DNSNames:  []string{"*.vault.azure.net", "login.microsoftonline.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("serving certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return cert, pool, nil
}
