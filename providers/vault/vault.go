// Package vault is the provider for HashiCorp Vault's KV secrets engine (versions 1 and 2),
// with every auth method of ESO's but gcp: token, AppRole, Kubernetes, LDAP, userpass, JWT/OIDC,
// TLS certificates and AWS IAM; and its write side (Pusher) for both KV versions.
//
// A remote key is a path in the KV mount: `spec.provider.vault.path` names the mount (the
// key may repeat it), or, without it, the key's first segment is the mount, as in ESO. A
// read returns the secret's data as a JSON object, so `property` selects one field and
// `dataFrom.extract` yields them all, through the same helpers every provider uses.
package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	awsprovider "github.com/vigil-dev/vigil/providers/aws"
)

// ProviderName is the provider label of Vault calls in metrics (ESO's).
const ProviderName = "HashiCorp/Vault"

// kubernetesTokenTTL of ServiceAccount tokens minted for Kubernetes auth: used once, at
// login, so short.
const kubernetesTokenTTL = 10 * time.Minute

// Options configure the Vault provider.
type Options struct {
	// Observe is told about every call to Vault (metrics); may be nil.
	Observe providers.CallObserver
	// RequestTimeout bounds one HTTP request to Vault; 0 leaves the client's default (60 s).
	RequestTimeout time.Duration
	// AllowHTTPHosts are the hosts a store may reach over plain http (development servers;
	// `--allow-insecure-store-hosts`). Every other server must be https: a store sends
	// tokens and secret ids to it.
	AllowHTTPHosts []string
}

// Provider is the Vault provider.
type Provider struct {
	opts Options
	// aws finds the AWS credentials of auth.iam as the aws provider finds a store's.
	aws *awsprovider.Provider
}

// New returns the Vault provider.
func New(opts Options) *Provider {
	if opts.Observe == nil {
		opts.Observe = func(string, string, error, time.Duration) {}
	}
	return &Provider{opts: opts, aws: awsprovider.New(awsprovider.Options{RequestTimeout: opts.RequestTimeout})}
}

// Name implements providers.Provider.
func (*Provider) Name() string { return "vault" }

// DefaultRate implements providers.DefaultRater: Vault has no quota unless one is
// configured; 100 requests a second per store (burst 200) keeps a cold start of thousands
// of ExternalSecrets from flooding it.
func (*Provider) DefaultRate() (float64, int) { return 100, 200 }

// ValidateStore implements providers.Provider.
func (p *Provider) ValidateStore(store esv1.GenericStore) error {
	spec := store.GetSpec().Provider.Vault
	u, err := url.Parse(spec.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return providers.Configf(
			"spec.provider.vault.server is not a URL; set Vault's address, e.g. https://vault.example:8200")
	}
	if err := providers.CheckTransport("spec.provider.vault.server", spec.Server, p.opts.AllowHTTPHosts); err != nil {
		return err
	}
	switch spec.Version {
	case "", esv1.VaultKVStoreV1, esv1.VaultKVStoreV2:
	default:
		return providers.Configf("spec.provider.vault.version %q is not supported; use v1 or v2", spec.Version)
	}
	return firstError(validateCheckAndSet(spec), validateTLS(store, spec), validateAuth(store, spec.Auth))
}

// NewClient implements providers.Provider: it builds an HTTP client for the server and logs
// in with the store's auth method.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (providers.Client, error) {
	spec := store.GetSpec().Provider.Vault
	// Checked again here (ValidateStore runs first in the store controller, but a generator
	// or a future caller may not): no token leaves over plain http to an unlisted host.
	if err := providers.CheckTransport("spec.provider.vault.server", spec.Server, p.opts.AllowHTTPHosts); err != nil {
		return nil, err
	}
	cfg, err := storeConfig()
	if err != nil {
		return nil, err
	}
	cfg.Address = spec.Server
	transport := cfg.HttpClient.Transport.(*http.Transport) // storeConfig checked the type
	if err := configureCA(ctx, transport, store, kube, namespace); err != nil {
		return nil, err
	}
	certs := newClientCerts(store, kube, namespace, transport)
	if p.opts.RequestTimeout > 0 {
		cfg.Timeout = p.opts.RequestTimeout
	}
	if rs := store.GetSpec().RetrySettings; rs != nil && rs.MaxRetries != nil {
		cfg.MaxRetries = int(*rs.MaxRetries)
	}
	// Vault's client reads whole responses into memory: cap them where they are read. (After
	// ConfigureTLS, which needs the plain transport.)
	cfg.HttpClient.Transport = providers.RequesterHeaders(
		providers.LimitResponses(cfg.HttpClient.Transport, providers.MaxResponseBytes))
	api, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	// The process environment (VAULT_TOKEN, VAULT_NAMESPACE) must not leak into a store:
	// every store says how it logs in.
	api.ClearToken()
	api.ClearNamespace()
	if spec.Namespace != nil && *spec.Namespace != "" {
		api.SetNamespace(*spec.Namespace)
	}
	if namespace != "" {
		// The audit trail: Vault's audit log records this header when the operator makes
		// it auditable (docs/audit-trail.md). Clients are per namespace (ClientCache).
		api.AddHeader(providers.NamespaceHeader, providers.AuditName(namespace))
	}
	// The clients a login and a token probe are made with (Clone) keep the headers: the
	// namespace header above, and Vault Enterprise's X-Vault-Namespace. (Not the token.)
	api.SetCloneHeaders(true)
	c := &Client{api: api, spec: spec, observe: p.opts.Observe, identity: identityOf(spec)}
	c.mount, c.kv2 = mountOf(spec), spec.Version != esv1.VaultKVStoreV1
	if c.login, err = loginFunc(ctx, store, kube, namespace, p.aws); err != nil {
		return nil, err
	}
	if certs != nil {
		c.login = certs.before(c.login)
	}
	if err := c.relogin(ctx, ""); err != nil {
		return nil, err
	}
	return c, nil
}

// storeConfig is vaultapi.DefaultConfig without what it reads from the controller's
// environment: VAULT_CLIENT_CERT/KEY would lend the controller's client certificate to every
// tenant's store (ambient identity), VAULT_SKIP_VERIFY would turn TLS verification off for
// all of them, VAULT_CACERT, VAULT_TLS_SERVER_NAME, VAULT_AGENT_ADDR, VAULT_SRV_LOOKUP,
// VAULT_RATE_LIMIT and VAULT_MAX_RETRIES would change where and how requests go. A store
// says all of that itself (server, caBundle, retrySettings).
func storeConfig() (*vaultapi.Config, error) {
	cfg := vaultapi.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault client configuration: %w", cfg.Error)
	}
	transport, ok := cfg.HttpClient.Transport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("vault client configuration: unexpected transport %T", cfg.HttpClient.Transport)
	}
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: transport.TLSClientConfig.NextProtos}
	cfg.AgentAddress, cfg.SRVLookup, cfg.Limiter, cfg.MaxRetries = "", false, nil, 2
	return cfg, nil
}

func mountOf(spec *esv1.VaultProvider) string {
	if spec.Path == nil {
		return ""
	}
	return strings.Trim(*spec.Path, "/")
}

// Client reads one store's KV engine. It logs in again when Vault refuses its token
// (expired lease, revoked token).
type Client struct {
	api     *vaultapi.Client
	spec    *esv1.VaultProvider
	observe providers.CallObserver
	mount   string
	kv2     bool
	login   func(ctx context.Context, api *vaultapi.Client) (string, error)
	// identity names the auth method and role the client logs in with, for messages.
	identity string

	mu sync.Mutex // serialises logins
}

// Close implements providers.Closer: it revokes a token Vigil obtained by logging in
// (AppRole, Kubernetes), so that a replaced client leaves no live token behind. A token from
// tokenSecretRef belongs to the user and stays.
func (c *Client) Close() {
	if c.spec.Auth == nil || c.spec.Auth.TokenSecretRef != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := c.api.Auth().Token().RevokeSelfWithContext(ctx, "")
	c.observe(ProviderName, "RevokeSelf", err, time.Since(start))
}

// relogin gets a new token unless another goroutine already replaced stale. The replaced
// token is revoked when Vigil logged in for it (a token from tokenSecretRef is the user's),
// so that no live token is left behind.
func (c *Client) relogin(ctx context.Context, stale string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.api.Token() != stale {
		return nil
	}
	start := time.Now()
	anon, err := c.api.Clone() // a login sends no token
	if err != nil {
		return err
	}
	tok, err := c.login(ctx, anon)
	c.observe(ProviderName, "Login", err, time.Since(start))
	if err != nil {
		return err
	}
	c.api.SetToken(tok)
	if stale != "" && c.loggedIn() {
		c.revoke(ctx, anon, stale)
	}
	return nil
}

// loggedIn reports whether the client's tokens come from a login (AppRole, Kubernetes) and
// are Vigil's to revoke.
func (c *Client) loggedIn() bool {
	return c.spec.Auth != nil && c.spec.Auth.TokenSecretRef == nil
}

// revoke revokes token with a client that carries it (revoke-self: every token may). A
// token Vault already dropped answers 403; either way nothing more is to be done.
func (c *Client) revoke(ctx context.Context, anon *vaultapi.Client, token string) {
	anon.SetToken(token)
	defer anon.ClearToken()
	start := time.Now()
	err := anon.Auth().Token().RevokeSelfWithContext(ctx, "")
	c.observe(ProviderName, "RevokeSelf", err, time.Since(start))
}

// call runs one request. When Vault answers 403 and the token itself is no longer good
// (expired, revoked), it logs in again, once, and repeats the request. A 403 for a path the
// token's policies deny is returned as it is: logging in again would not change it, and a
// denied path read in a loop must not turn into a stream of logins.
func (c *Client) call(ctx context.Context, name string, do func() (*vaultapi.Secret, error)) (*vaultapi.Secret, error) {
	for attempt := 0; ; attempt++ {
		tok := c.api.Token()
		start := time.Now()
		s, err := do()
		c.observe(ProviderName, name, err, time.Since(start))
		var re *vaultapi.ResponseError
		if attempt == 0 && errors.As(err, &re) && re.StatusCode == http.StatusForbidden && c.tokenInvalid(ctx, re, tok) {
			if lerr := c.relogin(ctx, tok); lerr != nil {
				return nil, fmt.Errorf("%w (logging in again: %v)", describe(name, err), lerr)
			}
			continue
		}
		return s, describe(name, err)
	}
}

// tokenInvalid tells a 403 for a bad token from a 403 for a denied path: Vault answers
// "permission denied" to both. Recent Vault versions add "invalid token" for the first;
// otherwise the token looks itself up (the default policy lets every valid token do so),
// and only a refused lookup means the token is gone.
func (c *Client) tokenInvalid(ctx context.Context, re *vaultapi.ResponseError, tok string) bool {
	if !re.RawError &&
		slices.ContainsFunc(re.Errors, func(e string) bool { return strings.Contains(e, "invalid token") }) {
		return true
	}
	probe, err := c.api.Clone()
	if err != nil {
		return true
	}
	probe.SetToken(tok)
	start := time.Now()
	_, err = probe.Auth().Token().LookupSelfWithContext(ctx)
	c.observe(ProviderName, "LookupSelf", err, time.Since(start))
	var lre *vaultapi.ResponseError
	return errors.As(err, &lre) && lre.StatusCode == http.StatusForbidden
}

// path splits a remote key into the mount and the secret's path within it.
func (c *Client) path(key string) (mount, rest string, err error) {
	key = strings.Trim(key, "/")
	if c.mount != "" {
		return c.mount, strings.TrimPrefix(key, c.mount+"/"), nil
	}
	mount, rest, ok := strings.Cut(key, "/")
	if !ok || rest == "" {
		return "", "", providers.Configf(
			"key %q names no secret below a mount: write it as <mount>/<path>, or set spec.provider.vault.path", key)
	}
	return mount, rest, nil
}

// GetSecret implements providers.Client: the secret's data as a JSON object.
func (c *Client) GetSecret(ctx context.Context, ref providers.Ref) ([]byte, error) {
	mount, rest, err := c.path(ref.Key)
	if err != nil {
		return nil, err
	}
	var params map[string][]string
	p := mount + "/" + rest
	if c.kv2 {
		p = mount + "/data/" + rest
		if ref.Version != "" {
			params = map[string][]string{"version": {ref.Version}}
		}
	} else if ref.Version != "" {
		return nil, providers.Configf("key %s: KV version 1 keeps no versions; remove remoteRef.version or use a v2 engine",
			ref)
	}
	s, err := c.call(ctx, "ReadSecretData", func() (*vaultapi.Secret, error) {
		return c.api.Logical().ReadWithDataWithContext(ctx, p, params)
	})
	if err != nil {
		return nil, c.withKey(err, ref.Key, "read")
	}
	data := map[string]any(nil)
	if s != nil {
		data = s.Data
		if c.kv2 {
			data, _ = s.Data["data"].(map[string]any) // nil for a deleted or destroyed version
		}
	}
	if data == nil {
		return nil, providers.NotFound(ref, nil)
	}
	return providers.MarshalJSON(data)
}

// GetMetadata implements providers.MetadataGetter: a KV v2 secret's custom_metadata.
func (c *Client) GetMetadata(ctx context.Context, ref providers.Ref) (map[string]string, error) {
	if !c.kv2 {
		return nil, providers.Configf("key %s: metadataPolicy Fetch needs a KV version 2 engine", ref)
	}
	mount, rest, err := c.path(ref.Key)
	if err != nil {
		return nil, err
	}
	s, err := c.call(ctx, "ReadSecretMetadata", func() (*vaultapi.Secret, error) {
		return c.api.Logical().ReadWithContext(ctx, mount+"/metadata/"+rest)
	})
	if err != nil {
		return nil, c.withKey(err, ref.Key, "read")
	}
	if s == nil {
		return nil, providers.NotFound(ref, nil)
	}
	return customMetadata(s), nil
}

func customMetadata(s *vaultapi.Secret) map[string]string {
	out := map[string]string{}
	m, _ := s.Data["custom_metadata"].(map[string]any)
	for k, v := range m {
		if str, ok := v.(string); ok {
			out[k] = str
		}
	}
	return out
}

// Validate implements providers.Client: the token is good (every token may look itself up).
func (c *Client) Validate(ctx context.Context) error {
	_, err := c.call(ctx, "LookupSelf", func() (*vaultapi.Secret, error) {
		return c.api.Auth().Token().LookupSelfWithContext(ctx)
	})
	return err
}

// Discard gives back what a Request issued and the Secret never received: with a token
// Vigil logged in for, the token is revoked, and Vault revokes every lease it created (the
// database user with it); with the user's own token, only the lease is revoked (its policy
// needs update on sys/leases/revoke; without it the lease runs out at its TTL).
func (c *Client) Discard(ctx context.Context, leaseID string) {
	start := time.Now()
	var err error
	if c.loggedIn() {
		err = c.api.Auth().Token().RevokeSelfWithContext(ctx, "")
		c.observe(ProviderName, "RevokeSelf", err, time.Since(start))
		return
	}
	if leaseID != "" {
		err = c.api.Sys().RevokeWithContext(ctx, leaseID)
		c.observe(ProviderName, "RevokeLease", err, time.Since(start))
	}
}

// Request sends one request to Vault with the client's token (logging in again once if Vault
// refuses it): the VaultDynamicSecret generator's call, e.g. GET database/creds/app.
func (c *Client) Request(ctx context.Context, method, path string, params map[string]any) (*vaultapi.Secret, error) {
	path = strings.Trim(path, "/")
	return c.call(ctx, "Generate", func() (*vaultapi.Secret, error) {
		if method == "" || method == http.MethodGet {
			return c.api.Logical().ReadWithContext(ctx, path)
		}
		return c.api.Logical().WriteWithContext(ctx, path, params) // Vault treats POST and PUT alike
	})
}
