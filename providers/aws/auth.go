package aws

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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
// Sessions are named after namespace and tagged with it (see session.go).
func credentialsFor(ctx context.Context, cfg aws.Config, store esv1.GenericStore, kube client.Client,
	namespace string, untagged *untaggedRoles) (aws.CredentialsProvider, error) {
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
	stsClient := sts.NewFromConfig(stsCfg)
	assume := func(tags bool) aws.CredentialsProvider {
		return stscreds.NewAssumeRoleProvider(stsClient, spec.Role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = SessionName(namespace)
			if spec.ExternalID != "" {
				o.ExternalID = aws.String(spec.ExternalID)
			}
			if tags {
				o.Tags = sessionTags(namespace)
			}
		})
	}
	if len(sessionTags(namespace)) == 0 {
		return assume(false), nil
	}
	return &tagFallback{tagged: assume(true), plain: assume(false), memo: untagged,
		key: untaggedKey(store, spec.Role, namespace)}, nil
}

// untaggedKey names what a tag refusal is remembered for: the store, the role and the
// namespace. Another namespace on the same shared store asks with its own tag again.
func untaggedKey(store esv1.GenericStore, role, namespace string) string {
	return string(store.GetUID()) + "|" + role + "|" + namespace
}

func staticCredentials(ctx context.Context, store esv1.GenericStore, ref *esv1.AWSAuthSecretRef, kube client.Client,
	namespace string) (aws.CredentialsProvider, error) {
	id, err := providers.SecretKey(ctx, kube, store, ref.AccessKeyID, namespace)
	if err != nil {
		return nil, err
	}
	secret, err := providers.SecretKey(ctx, kube, store, ref.SecretAccessKey, namespace)
	if err != nil {
		return nil, err
	}
	var token string
	if ref.SessionToken != nil {
		if token, err = providers.SecretKey(ctx, kube, store, *ref.SessionToken, namespace); err != nil {
			return nil, err
		}
	}
	return credentials.NewStaticCredentialsProvider(id, secret, token), nil
}

// webIdentityCredentials implements IRSA without a projected token file: the controller
// mints a token for the named ServiceAccount through the TokenRequest API and exchanges it
// for the role in the ServiceAccount's eks.amazonaws.com/role-arn annotation.
func webIdentityCredentials(ctx context.Context, cfg aws.Config, store esv1.GenericStore,
	ref *esv1.ServiceAccountSelector, kube client.Client, namespace string) (aws.CredentialsProvider, error) {
	// STS's audience always, plus any the selector adds (ESO's behaviour); never the API
	// server's default audience, which would make the token good for this cluster too.
	tokens, err := providers.NewServiceAccountToken(ctx, kube, store, *ref, namespace,
		append([]string{STSAudience}, ref.Audiences...), tokenTTL)
	if err != nil {
		return nil, fmt.Errorf("auth.jwt: %w", err)
	}
	sa := tokens.ServiceAccount()
	role := sa.Annotations[RoleARNAnnotation]
	if role == "" {
		return nil, providers.Configf("ServiceAccount %s/%s has no %s annotation: annotate it with the IAM role to assume",
			sa.Namespace, sa.Name, RoleARNAnnotation)
	}
	// AssumeRoleWithWebIdentity takes no session tags (they come from the token's
	// claims): the namespace is in the session name.
	return stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(cfg), role, tokenRetriever{tokens},
		func(o *stscreds.WebIdentityRoleOptions) {
			o.RoleSessionName = SessionName(namespace)
		}), nil
}

// tokenRetriever adapts the token minter to stscreds.IdentityTokenRetriever.
type tokenRetriever struct {
	tokens *providers.ServiceAccountToken
}

// GetIdentityToken implements stscreds.IdentityTokenRetriever (which passes no context).
func (t tokenRetriever) GetIdentityToken() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, _, err := t.tokens.Mint(ctx)
	return []byte(tok), err
}
