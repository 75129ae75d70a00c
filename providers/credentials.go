package providers

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// SecretKey reads one key of a credentials Secret that a store names, in the namespace
// StoreNamespace resolves. Errors name the Secret and key only, never the value.
func SecretKey(ctx context.Context, kube client.Client, store esv1.GenericStore, sel esv1.SecretKeySelector, namespace string) (string, error) {
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
// for it with the given audiences (nil: the API server's default audience) and lifetime.
func NewServiceAccountToken(ctx context.Context, kube client.Client, store esv1.GenericStore, ref esv1.ServiceAccountSelector, namespace string, audiences []string, ttl time.Duration) (*ServiceAccountToken, error) {
	ns, err := StoreNamespace(store, ref.Namespace, namespace)
	if err != nil {
		return nil, err
	}
	var sa corev1.ServiceAccount
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &sa); err != nil {
		return nil, fmt.Errorf("reading ServiceAccount %s/%s: %w", ns, ref.Name, err)
	}
	return &ServiceAccountToken{kube: kube, sa: sa, audiences: append(audiences, ref.Audiences...), ttl: ttl}, nil
}

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
