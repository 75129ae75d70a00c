// Package azure is the provider for Azure Key Vault (ESO's azurekv), built on the Azure SDK
// for Go (azsecrets, azkeys, azidentity).
//
// A remote key names an object of the vault as ESO does: `<name>` or `secret/<name>` is a
// secret, `key/<name>` a key (its public JWK as JSON), `cert/<name>` a certificate (its DER).
// Property selection, extract and decoding happen in the shared providers code. PushSecret
// writes secrets and keys (push.go).
package azure

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// ProviderName is the provider label of Key Vault calls in metrics (ESO's).
const ProviderName = "Azure/KeyVault"

// Options configure the Azure Key Vault provider.
type Options struct {
	// Observe is told about every call to Key Vault and Entra ID (metrics); may be nil.
	Observe providers.CallObserver
	// RequestTimeout bounds one HTTP request; 0 is none beyond the SDK's retries.
	RequestTimeout time.Duration
	// Transport carries every request of every store, to Key Vault, Entra ID and IMDS; nil
	// is a clone of http.DefaultTransport. Only tests set it (to trust a local server's CA
	// and dial it); it is no flag and no store field.
	Transport http.RoundTripper
}

// Provider is the Azure Key Vault provider.
type Provider struct{ opts Options }

// New returns the Azure Key Vault provider.
func New(opts Options) *Provider {
	if opts.Observe == nil {
		opts.Observe = func(string, string, error, time.Duration) {}
	}
	return &Provider{opts: opts}
}

// Name implements providers.Provider.
func (*Provider) Name() string { return "azurekv" }

// DefaultRate implements providers.DefaultRater: Key Vault allows 4000 secret reads per 10
// seconds per vault; 100 a second per store (burst 200) leaves room for several stores on
// one vault and keeps a cold start of thousands of ExternalSecrets from being throttled.
func (*Provider) DefaultRate() (float64, int) { return 100, 200 }

// ValidateStore implements providers.Provider.
func (p *Provider) ValidateStore(store esv1.GenericStore) error {
	spec := store.GetSpec().Provider.AzureKV
	if spec.VaultURL == nil || *spec.VaultURL == "" {
		return providers.Configf("spec.provider.azurekv.vaultUrl is empty; set the vault's URL, e.g. " +
			"https://my-vault.vault.azure.net")
	}
	if err := checkVaultURL(*spec.VaultURL); err != nil {
		return err
	}
	if _, err := cloudOf(spec); err != nil {
		return err
	}
	check := func(field string, ns *string) error { return providers.CheckRefNamespace(store, ns, field) }
	switch authTypeOf(spec) {
	case esv1.AzureServicePrincipal:
		return validateServicePrincipal(spec, check)
	case esv1.AzureManagedIdentity:
		return nil
	case esv1.AzureWorkloadIdentity:
		if sa := spec.ServiceAccountRef; sa != nil {
			return check("spec.provider.azurekv.serviceAccountRef", sa.Namespace)
		}
		return nil
	}
	return providers.Configf("spec.provider.azurekv.authType %q is not supported; use ServicePrincipal, "+
		"ManagedIdentity or WorkloadIdentity", *spec.AuthType)
}

// checkVaultURL accepts an https URL with a host: tokens are sent to it.
func checkVaultURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Scheme, "https") || u.User != nil {
		return providers.Configf("spec.provider.azurekv.vaultUrl is not an https URL of a vault; set e.g. " +
			"https://my-vault.vault.azure.net")
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return providers.Configf("spec.provider.azurekv.vaultUrl has a path or query; set the vault's address only, " +
			"e.g. https://my-vault.vault.azure.net")
	}
	return nil
}

func authTypeOf(spec *esv1.AzureKVProvider) esv1.AzureAuthType {
	if spec.AuthType == nil || *spec.AuthType == "" {
		return esv1.AzureServicePrincipal
	}
	return *spec.AuthType
}

func validateServicePrincipal(spec *esv1.AzureKVProvider, check func(string, *string) error) error {
	if spec.TenantID == nil || *spec.TenantID == "" {
		return providers.Configf("spec.provider.azurekv.tenantId is empty; ServicePrincipal needs the tenant of the app")
	}
	a := spec.AuthSecretRef
	if a == nil || a.ClientID == nil || a.ClientID.Key == "" {
		return providers.Configf("spec.provider.azurekv.authSecretRef.clientId is not set; ServicePrincipal needs " +
			"the Secret key that holds the app's client id")
	}
	if (a.ClientSecret == nil) == (a.ClientCertificate == nil) {
		return providers.Configf("spec.provider.azurekv.authSecretRef needs exactly one of clientSecret or " +
			"clientCertificate")
	}
	refs := map[string]*esv1.SecretKeySelector{"clientId": a.ClientID, "clientSecret": a.ClientSecret,
		"clientCertificate": a.ClientCertificate}
	for field, sel := range refs {
		if sel == nil {
			continue
		}
		if sel.Key == "" {
			return providers.Configf("spec.provider.azurekv.authSecretRef.%s.key is empty; name the Secret key", field)
		}
		if err := check("spec.provider.azurekv.authSecretRef."+field, sel.Namespace); err != nil {
			return err
		}
	}
	return nil
}

// NewClient implements providers.Provider: it resolves the store's credential and builds the
// Key Vault clients. No request is sent yet.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (providers.Client, error) {
	if err := p.ValidateStore(store); err != nil {
		return nil, err
	}
	spec := store.GetSpec().Provider.AzureKV
	env, err := cloudOf(spec)
	if err != nil {
		return nil, err
	}
	opts := p.clientOptions(store, env)
	cred, identity, err := credentialFor(ctx, store, kube, namespace, opts)
	if err != nil {
		return nil, err
	}
	return newClient(strings.TrimSuffix(*spec.VaultURL, "/"), cred, opts, p.opts.Observe, identity)
}

// httpClient is every store's HTTP client: TLS 1.2 at least, responses capped where they are
// read, the ExternalSecret named in a header (audit trail), no redirects (a token or a secret
// goes only to the host the store names), each request bounded by RequestTimeout.
func (p *Provider) httpClient() *http.Client {
	base := p.opts.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = nil // the Go default: system roots, TLS 1.2 minimum
		base = t
	}
	return &http.Client{
		Transport: providers.RequesterHeaders(providers.LimitResponses(base, providers.MaxResponseBytes)),
		Timeout:   p.opts.RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errRedirect
		},
	}
}

var errRedirect = providers.Refusef("Key Vault or Entra ID answered with a redirect, which Vigil does not follow")
