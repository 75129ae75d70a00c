package providers

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// SecretKey reads one key of a credentials Secret that a store names, in the namespace
// StoreNamespace resolves. Errors name the Secret and key only, never the value.
func SecretKey(ctx context.Context, kube client.Client, store esv1.GenericStore, sel esv1.SecretKeySelector,
	namespace string) (string, error) {
	ns, err := StoreNamespace(store, sel.Namespace, namespace)
	if err != nil {
		return "", err
	}
	var s corev1.Secret
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: sel.Name}, &s); err != nil {
		return "", fmt.Errorf("reading credentials Secret %s/%s: %w", ns, sel.Name, err)
	}
	v, ok := s.Data[sel.Key]
	if !ok || len(v) == 0 {
		return "", Configf("credentials Secret %s/%s has no key %q", ns, sel.Name, sel.Key)
	}
	return string(v), nil
}

// ServiceAccountToken mints tokens for a ServiceAccount a store names, through the
// TokenRequest API. Tokens are minted only for that ServiceAccount, in the namespace
// StoreNamespace resolves (a SecretStore's own).
type ServiceAccountToken struct {
	kube      client.Client
	sa        corev1.ServiceAccount
	audiences []string
	ttl       time.Duration
}

// NewServiceAccountToken reads the ServiceAccount ref names and returns a minter of tokens
// for it with the given audiences and lifetime. audiences name the party the token is for
// (Vault, STS): a token with the API server's default audience (audiences empty) lets
// whoever receives it act as the ServiceAccount on this cluster, so only a caller that
// sends the token to this cluster's own API server passes none.
func NewServiceAccountToken(ctx context.Context, kube client.Client, store esv1.GenericStore,
	ref esv1.ServiceAccountSelector, namespace string, audiences []string, ttl time.Duration) (
	*ServiceAccountToken, error) {
	ns, err := StoreNamespace(store, ref.Namespace, namespace)
	if err != nil {
		return nil, err
	}
	var sa corev1.ServiceAccount
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &sa); err != nil {
		return nil, fmt.Errorf("reading ServiceAccount %s/%s: %w", ns, ref.Name, err)
	}
	return &ServiceAccountToken{kube: kube, sa: sa, audiences: slices.Clone(audiences), ttl: ttl}, nil
}

// Audiences returns the audiences tokens are minted for.
func (t *ServiceAccountToken) Audiences() []string { return slices.Clone(t.audiences) }

// ServiceAccount returns the ServiceAccount tokens are minted for.
func (t *ServiceAccountToken) ServiceAccount() *corev1.ServiceAccount { return &t.sa }

// Mint returns a new token and its expiry.
func (t *ServiceAccountToken) Mint(ctx context.Context) (string, time.Time, error) {
	seconds := int64(t.ttl / time.Second)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         t.audiences,
		ExpirationSeconds: &seconds,
	}}
	if err := t.kube.SubResource("token").Create(ctx, t.sa.DeepCopy(), tr); err != nil {
		return "", time.Time{}, fmt.Errorf("minting a token for ServiceAccount %s/%s: %w", t.sa.Namespace, t.sa.Name, err)
	}
	return tr.Status.Token, tr.Status.ExpirationTimestamp.Time, nil
}

// CheckTransport refuses to send credentials to raw unless it is an https URL, or an http URL
// whose host the cluster admin allowed (`vigil controller --allow-insecure-store-hosts`, for
// development servers such as a Vault dev server on loopback). field names the store field in
// the refusal; the refusal names the scheme and host only (a URL's user info may hold a
// password).
func CheckTransport(field, raw string, allowHTTPHosts []string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Configf("%s is not a URL; set an https:// address", field)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if HostAllowed(u.Hostname(), allowHTTPHosts) {
			return nil
		}
		return Configf(
			"%s uses plain http (host %q): tokens are only sent over https; use an https:// address (a development host may "+
				"be allowed by the cluster admin with the controller flag --allow-insecure-store-hosts)", field, u.Hostname())
	}
	return Configf("%s has scheme %q; use an https:// address", field, u.Scheme)
}

// HostAllowed reports whether host is in hosts (case-insensitive, as DNS names are).
func HostAllowed(host string, hosts []string) bool {
	return slices.ContainsFunc(hosts, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), host) })
}

// Truncate cuts s to at most n bytes on a rune boundary and drops control characters.
func Truncate(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
