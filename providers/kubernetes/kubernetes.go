// Package kubernetes is the provider that reads Secrets of another namespace or another
// cluster, as ESO's Kubernetes provider does.
//
// A remote key is a Secret's name in spec.provider.kubernetes.remoteNamespace; a read
// returns the Secret's data as a JSON object of strings, so `property` selects one key and
// `dataFrom.extract` copies them all. The controller never uses its own identity here: every
// request carries the token the store names (a Secret's bearer token, or a token minted
// for a ServiceAccount of the store's namespace), so the API server's RBAC decides what a
// store may read.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// ProviderName is the provider label of its calls in metrics (ESO's).
const ProviderName = "Kubernetes"

// tokenTTL of tokens minted for auth.serviceAccount; they are renewed a minute before they
// expire.
const tokenTTL = time.Hour

// Options configure the Kubernetes provider.
type Options struct {
	// Observe is told about every call to the remote API server (metrics); may be nil.
	Observe providers.CallObserver
	// RequestTimeout bounds one request; 0 means 30 s.
	RequestTimeout time.Duration
	// AllowHTTPHosts are the hosts a store may reach over plain http
	// (`--allow-insecure-store-hosts`); every other server must be https.
	AllowHTTPHosts []string
	// LocalAPIServer is the address of the API server the controller itself talks to
	// (its rest.Config Host). Tokens minted without an explicit audience carry the API
	// server's own audience, so they are only sent there (or to kubernetes.default).
	LocalAPIServer string
}

// Provider is the Kubernetes provider.
type Provider struct{ opts Options }

// New returns the Kubernetes provider.
func New(opts Options) *Provider {
	if opts.Observe == nil {
		opts.Observe = func(string, string, error, time.Duration) {}
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	return &Provider{opts: opts}
}

// Name implements providers.Provider.
func (*Provider) Name() string { return "kubernetes" }

// DefaultRate implements providers.DefaultRater: 50 requests a second per store (burst
// 100), a polite client of another team's API server.
func (*Provider) DefaultRate() (float64, int) { return 50, 100 }

// ValidateStore implements providers.Provider.
func (p *Provider) ValidateStore(store esv1.GenericStore) error {
	spec := store.GetSpec().Provider.Kubernetes
	host, err := serverURL(spec.Server.URL)
	if err != nil {
		return err
	}
	if err := providers.CheckTransport("spec.provider.kubernetes.server.url", host, p.opts.AllowHTTPHosts); err != nil {
		return err
	}
	a := spec.Auth
	if a == nil || (a.Token == nil) == (a.ServiceAccount == nil) {
		return providers.Configf(
			"spec.provider.kubernetes.auth must set exactly one of token (a Secret with a bearer token) or serviceAccount (a " +
				"ServiceAccount of the store's namespace to mint tokens for)")
	}
	if a.Token != nil {
		if a.Token.BearerToken.Key == "" {
			return providers.Configf(
				"spec.provider.kubernetes.auth.token.bearerToken.key is empty; name the key that holds the token")
		}
		return providers.CheckRefNamespace(store, a.Token.BearerToken.Namespace,
			"spec.provider.kubernetes.auth.token.bearerToken")
	}
	if _, err := p.audiences(host, a.ServiceAccount); err != nil {
		return err
	}
	return providers.CheckRefNamespace(store, a.ServiceAccount.Namespace, "spec.provider.kubernetes.auth.serviceAccount")
}

// inClusterNames are the names of the API server Service every cluster has.
var inClusterNames = []string{"kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}

// audiences returns the audiences of tokens minted for auth.serviceAccount: the ones the
// store names, or, for this cluster's own API server, none (the API server's default).
// A token with the API server's audience is a credential for this cluster, so it is never
// sent to another host: a remote server needs the audience it accepts named explicitly.
func (p *Provider) audiences(server string, sa *esv1.ServiceAccountSelector) ([]string, error) {
	if len(sa.Audiences) > 0 {
		return sa.Audiences, nil
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, providers.Configf("spec.provider.kubernetes.server.url is not a URL")
	}
	if providers.HostAllowed(u.Hostname(), inClusterNames) {
		return nil, nil
	}
	if local, err := url.Parse(p.opts.LocalAPIServer); err == nil && p.opts.LocalAPIServer != "" &&
		strings.EqualFold(local.Host, u.Host) {
		return nil, nil
	}
	return nil, providers.Configf(
		"spec.provider.kubernetes.auth.serviceAccount.audiences is empty and server %q is not this cluster's API server: a "+
			"token with this cluster's audience is never sent elsewhere; name the "+
			"audience the remote API server accepts", u.Host)
}

// serverURL accepts ESO's forms: a URL, or a host such as kubernetes.default (https).
func serverURL(s string) (string, error) {
	if s == "" {
		s = "kubernetes.default"
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", providers.Configf(
			"spec.provider.kubernetes.server.url %q is not an API server address; use e.g. https://api.example:6443", s)
	}
	return s, nil
}

// NewClient implements providers.Provider.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (providers.Client, error) {
	spec := store.GetSpec().Provider.Kubernetes
	host, err := serverURL(spec.Server.URL)
	if err != nil {
		return nil, err
	}
	// Checked again at client creation (defence in depth): no token over plain http.
	if err := providers.CheckTransport("spec.provider.kubernetes.server.url", host, p.opts.AllowHTTPHosts); err != nil {
		return nil, err
	}
	cfg := &rest.Config{
		Host:            host,
		TLSClientConfig: rest.TLSClientConfig{CAData: spec.Server.CABundle},
		Timeout:         p.opts.RequestTimeout,
		UserAgent:       "vigil",
	}
	switch a := spec.Auth; {
	case a.Token != nil:
		tok, err := providers.SecretKey(ctx, kube, store, a.Token.BearerToken, namespace)
		if err != nil {
			return nil, err
		}
		cfg.BearerToken = tok
	case a.ServiceAccount != nil:
		audiences, err := p.audiences(host, a.ServiceAccount)
		if err != nil {
			return nil, err
		}
		minter, err := providers.NewServiceAccountToken(ctx, kube, store, *a.ServiceAccount, namespace, audiences, tokenTTL)
		if err != nil {
			return nil, fmt.Errorf("kubernetes auth.serviceAccount: %w", err)
		}
		ts := oauth2.ReuseTokenSourceWithExpiry(nil, tokenSource{minter}, time.Minute)
		cfg.WrapTransport = transport.TokenSourceWrapTransport(ts)
	}
	// The token goes to the store's server only: a redirect elsewhere (another host, or
	// down to http) is refused before the request, and so before the token, leaves.
	cfg.Wrap(pinHost(host))
	// Responses are read whole into memory: cap them where they are read.
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return providers.LimitResponses(rt, providers.MaxResponseBytes)
	})
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, providers.Configf("spec.provider.kubernetes: %v", err)
	}
	// Names only (PartialObjectMetadata): the hint of a missing key lists no Secret's data.
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, providers.Configf("spec.provider.kubernetes: %v", err)
	}
	remote := spec.RemoteNamespace
	if remote == "" {
		remote = "default"
	}
	return &Client{cs: cs, md: md, namespace: remote, observe: p.opts.Observe, identity: identityOf(spec.Auth)}, nil
}

// pinHost refuses requests to any scheme and host but server's. The refusal names only the
// store's own server: the other host is the remote server's choice (a redirect's Location).
func pinHost(server string) transport.WrapperFunc {
	want, _ := url.Parse(server)
	return func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if !strings.EqualFold(req.URL.Scheme, want.Scheme) || !strings.EqualFold(req.URL.Host, want.Host) {
				return nil, providers.Refusef(
					"refusing a request to another scheme or host than the store's server %s (a redirect "+
						"does not carry its token elsewhere)", want.Host)
			}
			return rt.RoundTrip(req)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// tokenSource mints ServiceAccount tokens for oauth2's reuse cache.
type tokenSource struct {
	minter *providers.ServiceAccountToken
}

func (t tokenSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, exp, err := t.minter.Mint(ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: tok, TokenType: "Bearer", Expiry: exp}, nil
}

// Client reads Secrets of one remote namespace.
type Client struct {
	cs        kubernetes.Interface
	md        metadata.Interface
	namespace string
	observe   providers.CallObserver
	identity  string // who the client's requests run as, for messages
}

// identityOf names who a store's requests run as, without the credential.
func identityOf(a *esv1.KubernetesAuth) string {
	switch {
	case a == nil:
		return ""
	case a.ServiceAccount != nil:
		return "ServiceAccount " + a.ServiceAccount.Name
	case a.Token != nil:
		return "the token of spec.provider.kubernetes.auth.token.bearerToken"
	}
	return ""
}

func (c *Client) get(ctx context.Context, ref providers.Ref) (*corev1.Secret, error) {
	if ref.Version != "" {
		return nil, providers.Configf("key %s: Kubernetes Secrets have no versions; remove remoteRef.version", ref)
	}
	start := time.Now()
	s, err := c.cs.CoreV1().Secrets(c.namespace).Get(ctx, ref.Key, metav1.GetOptions{})
	c.observe(ProviderName, "GetSecret", err, time.Since(start))
	if err != nil {
		// Not a ConfigError even when forbidden: a grant added later must be picked up by
		// the retries.
		return nil, c.apiError("get", ref.Key, err)
	}
	return s, nil
}

// apiError describes a failed call on a Secret by the API server's status code and reason
// (never its message): the verb, the Secret, the identity and the RBAC grant it needs.
func (c *Client) apiError(verb, key string, err error) error {
	be := providers.NewBackendError("Kubernetes", verb+" secrets", key, err)
	be.Identity, be.Resource = c.identity, fmt.Sprintf("secrets in namespace %q", c.namespace)
	if st := apierrors.APIStatus(nil); errors.As(err, &st) {
		be.Code, be.Status = string(apierrors.ReasonForError(err)), int(st.Status().Code)
	}
	be.NotFound = apierrors.IsNotFound(err)
	be.Denied = apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
	be.Permission = fmt.Sprintf("a Role granting %q", verb)
	return be
}

// GetSecret implements providers.Client: the Secret's data as a JSON object of strings,
// each holding the value's bytes as they are (providers.MarshalBytesObject), so binary
// values reach the target Secret byte for byte through property and extract.
func (c *Client) GetSecret(ctx context.Context, ref providers.Ref) ([]byte, error) {
	s, err := c.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return providers.MarshalBytesObject(s.Data), nil
}

// GetMetadata implements providers.MetadataGetter: the Secret's labels.
func (c *Client) GetMetadata(ctx context.Context, ref providers.Ref) (map[string]string, error) {
	s, err := c.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.Labels, nil
}

// Find implements providers.Finder: Secrets of the remote namespace whose name matches and
// whose labels hold every tag (a label selector, so the server filters).
func (c *Client) Find(ctx context.Context, ref providers.FindRef) (map[string][]byte, error) {
	if ref.Path != "" {
		return nil, providers.Configf("find.path is not supported by the Kubernetes provider; use name or tags (labels)")
	}
	matches, err := providers.FindName(ref.Name)
	if err != nil {
		return nil, err
	}
	// Pages keep each response small; the results are capped as they come in.
	opts := metav1.ListOptions{LabelSelector: labels.SelectorFromSet(ref.Tags).String(), Limit: findPageSize}
	out := providers.NewFindResults()
	for scanned := 0; ; {
		start := time.Now()
		list, err := c.cs.CoreV1().Secrets(c.namespace).List(ctx, opts)
		c.observe(ProviderName, "ListSecrets", err, time.Since(start))
		if err != nil {
			return nil, fmt.Errorf("listing Secrets in %s: %s", c.namespace, short(err))
		}
		for i := range list.Items {
			s := &list.Items[i]
			if !matches(s.Name) {
				continue
			}
			if err := out.Add(s.Name, providers.MarshalBytesObject(s.Data)); err != nil {
				return nil, err
			}
		}
		if list.Continue == "" {
			return out.Values(), nil
		}
		if scanned += len(list.Items); scanned >= providers.MaxFindScanned {
			return nil, providers.LimitError(
				"find listed more than %d Secrets in namespace %q before filtering them, the most one find may look at; "+
					"narrow it with find.tags (labels)", providers.MaxFindScanned, c.namespace)
		}
		opts.Continue = list.Continue
	}
}

// findPageSize Secrets per List call of a find: a Secret may hold up to 1 MiB.
const findPageSize = 20

// Validate implements providers.Client: the store's identity may read Secrets of the remote
// namespace (a SelfSubjectAccessReview, which every authenticated identity may make).
func (c *Client) Validate(ctx context.Context) error {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: c.namespace, Verb: "get", Resource: "secrets"},
	}}
	start := time.Now()
	res, err := c.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	c.observe(ProviderName, "SelfSubjectAccessReview", err, time.Since(start))
	if err != nil {
		return fmt.Errorf("checking access to Secrets in %s: %s", c.namespace, short(err))
	}
	if !res.Status.Allowed {
		return providers.Configf(
			"the store's identity may not get Secrets in namespace %q: grant it get (and "+
				"list, for find) on secrets there", c.namespace)
	}
	return nil
}

// short describes an error of the remote API server by its status code and reason when it
// has them, else by its first 256 bytes: a response body (an error page, a proxy's answer)
// never reaches a condition whole.
func short(err error) string {
	if st := apierrors.APIStatus(nil); errors.As(err, &st) {
		return fmt.Sprintf("the API server answered %d (%s)", st.Status().Code, apierrors.ReasonForError(err))
	}
	return providers.Truncate(err.Error(), 256)
}

// ListNames implements providers.NameLister: one metadata-only list (names, never data) of
// the remote namespace's Secrets, at most MaxSuggestNames.
func (c *Client) ListNames(ctx context.Context, key string) ([]string, error) {
	start := time.Now()
	list, err := c.md.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(c.namespace).
		List(ctx, metav1.ListOptions{Limit: providers.MaxSuggestNames})
	c.observe(ProviderName, "ListSecrets", err, time.Since(start))
	if err != nil {
		return nil, c.apiError("list", key, err)
	}
	names := make([]string, 0, len(list.Items))
	for _, m := range list.Items {
		names = append(names, m.Name)
	}
	return names, nil
}
