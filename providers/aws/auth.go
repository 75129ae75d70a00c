package aws

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

const (
	// RoleARNAnnotation names the role of a ServiceAccount (EKS IRSA).
	RoleARNAnnotation = "eks.amazonaws.com/role-arn"
	// STSAudience is the audience STS expects in web identity tokens.
	STSAudience = "sts.amazonaws.com"
	// tokenTTL of minted ServiceAccount tokens; the SDK asks for a new one when the role
	// credentials it bought with the last one expire.
	tokenTTL = 15 * time.Minute
)

// credentialsFor returns the credentials a store asks for, or nil for the SDK's default
// chain. A role in the store spec is assumed on top of whichever base credentials apply.
func credentialsFor(ctx context.Context, cfg aws.Config, store esv1.GenericStore, kube client.Client, namespace string) (aws.CredentialsProvider, error) {
	spec := store.GetSpec().Provider.AWS
	var base aws.CredentialsProvider
	switch {
	case spec.Auth.SecretRef != nil:
		c, err := staticCredentials(ctx, store, spec.Auth.SecretRef, kube, namespace)
		if err != nil {
			return nil, err
		}
		base = c
	case spec.Auth.JWTAuth != nil:
		c, err := webIdentityCredentials(ctx, cfg, store, spec.Auth.JWTAuth.ServiceAccountRef, kube, namespace)
		if err != nil {
			return nil, err
		}
		base = c
	}
	if spec.Role == "" {
		return base, nil
	}
	stsCfg := cfg.Copy()
	if base != nil {
		stsCfg.Credentials = aws.NewCredentialsCache(base)
	}
	return stscreds.NewAssumeRoleProvider(sts.NewFromConfig(stsCfg), spec.Role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = sessionName(store)
		if spec.ExternalID != "" {
			o.ExternalID = aws.String(spec.ExternalID)
		}
	}), nil
}

func staticCredentials(ctx context.Context, store esv1.GenericStore, ref *esv1.AWSAuthSecretRef, kube client.Client, namespace string) (aws.CredentialsProvider, error) {
	id, err := secretKey(ctx, kube, store, ref.AccessKeyID, namespace)
	if err != nil {
		return nil, err
	}
	secret, err := secretKey(ctx, kube, store, ref.SecretAccessKey, namespace)
	if err != nil {
		return nil, err
	}
	var token string
	if ref.SessionToken != nil {
		if token, err = secretKey(ctx, kube, store, *ref.SessionToken, namespace); err != nil {
			return nil, err
		}
	}
	return credentials.NewStaticCredentialsProvider(id, secret, token), nil
}

// secretKey reads one key of a credentials Secret. Errors name the Secret and key only.
func secretKey(ctx context.Context, kube client.Client, store esv1.GenericStore, sel esv1.SecretKeySelector, namespace string) (string, error) {
	ns, err := providers.StoreNamespace(store, sel.Namespace, namespace)
	if err != nil {
		return "", err
	}
	var s corev1.Secret
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: sel.Name}, &s); err != nil {
		return "", fmt.Errorf("reading credentials Secret %s/%s: %w", ns, sel.Name, err)
	}
	v, ok := s.Data[sel.Key]
	if !ok || len(v) == 0 {
		return "", providers.Configf("credentials Secret %s/%s has no key %q", ns, sel.Name, sel.Key)
	}
	return string(v), nil
}

// webIdentityCredentials implements IRSA without a projected token file: the controller
// mints a token for the named ServiceAccount through the TokenRequest API and exchanges it
// for the role in the ServiceAccount's eks.amazonaws.com/role-arn annotation.
func webIdentityCredentials(ctx context.Context, cfg aws.Config, store esv1.GenericStore, ref *esv1.ServiceAccountSelector, kube client.Client, namespace string) (aws.CredentialsProvider, error) {
	ns, err := providers.StoreNamespace(store, ref.Namespace, namespace)
	if err != nil {
		return nil, err
	}
	var sa corev1.ServiceAccount
	if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &sa); err != nil {
		return nil, fmt.Errorf("reading ServiceAccount %s/%s for auth.jwt: %w", ns, ref.Name, err)
	}
	role := sa.Annotations[RoleARNAnnotation]
	if role == "" {
		return nil, providers.Configf("ServiceAccount %s/%s has no %s annotation: annotate it with the IAM role to assume", ns, ref.Name, RoleARNAnnotation)
	}
	tokens := &tokenRetriever{kube: kube, sa: sa, audiences: append([]string{STSAudience}, ref.Audiences...)}
	return stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(cfg), role, tokens, func(o *stscreds.WebIdentityRoleOptions) {
		o.RoleSessionName = sessionName(store)
	}), nil
}

// tokenRetriever mints ServiceAccount tokens on demand for stscreds.
type tokenRetriever struct {
	kube      client.Client
	sa        corev1.ServiceAccount
	audiences []string
}

// GetIdentityToken implements stscreds.IdentityTokenRetriever (which passes no context).
func (t *tokenRetriever) GetIdentityToken() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seconds := int64(tokenTTL / time.Second)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         t.audiences,
		ExpirationSeconds: &seconds,
	}}
	sa := t.sa.DeepCopy()
	if err := t.kube.SubResource("token").Create(ctx, sa, tr); err != nil {
		return nil, fmt.Errorf("minting a token for ServiceAccount %s/%s: %w", t.sa.Namespace, t.sa.Name, err)
	}
	return []byte(tr.Status.Token), nil
}
