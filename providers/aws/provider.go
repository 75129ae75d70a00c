// Package aws is the provider for AWS Secrets Manager and SSM Parameter Store.
//
// Endpoints and retries come from the AWS SDK's standard settings (AWS_ENDPOINT_URL, the
// shared config file, …), so the tests point it at a moto server with no special code path.
package aws

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// Options configure the AWS provider.
type Options struct {
	// Observe is told about every Secrets Manager and SSM call (metrics); may be nil.
	Observe providers.CallObserver
	// LoadOptions are applied after the SDK's standard settings when a client's
	// configuration is loaded; cmd/ passes none, tests may pin an endpoint.
	LoadOptions []func(*config.LoadOptions) error
	// RequestTimeout bounds one HTTP attempt to AWS; 0 leaves the SDK's default (none).
	RequestTimeout time.Duration
}

// Provider is the AWS provider.
type Provider struct {
	opts Options
	// untagged remembers the roles that refuse session tags (see tagFallback).
	untagged *untaggedRoles
}

// New returns the AWS provider.
func New(opts Options) *Provider {
	if opts.Observe == nil {
		opts.Observe = func(string, string, error, time.Duration) {}
	}
	return &Provider{opts: opts, untagged: newUntaggedRoles()}
}

// roleARN is the form of an IAM role ARN in any partition.
var roleARN = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/.+$`)

// Name implements providers.Provider.
func (*Provider) Name() string { return "aws" }

// ValidateStore implements providers.Provider.
func (*Provider) ValidateStore(store esv1.GenericStore) error {
	spec := store.GetSpec().Provider.AWS
	switch spec.Service {
	case esv1.AWSServiceSecretsManager, esv1.AWSServiceParameterStore:
	default:
		return providers.Configf("spec.provider.aws.service %q is not supported; use SecretsManager or ParameterStore",
			spec.Service)
	}
	if sm := spec.SecretsManager; sm != nil && sm.ForceDeleteWithoutRecovery && sm.RecoveryWindowInDays != 0 {
		return providers.Configf("spec.provider.aws.secretsManager sets both forceDeleteWithoutRecovery and " +
			"recoveryWindowInDays; AWS takes one of them")
	}
	if sm := spec.SecretsManager; sm != nil && sm.RecoveryWindowInDays != 0 &&
		(sm.RecoveryWindowInDays < 7 || sm.RecoveryWindowInDays > 30) {
		return providers.Configf("spec.provider.aws.secretsManager.recoveryWindowInDays must be 7 to 30 (AWS's range)")
	}
	if spec.Region == "" {
		return providers.Configf("spec.provider.aws.region is empty; set the region of the secrets, e.g. us-east-1")
	}
	// ESO's schema accepts any role string; the ARN check lives here so that such a manifest
	// applies and the store says what is wrong.
	if spec.Role != "" && !roleARN.MatchString(spec.Role) {
		return providers.Configf("spec.provider.aws.role must be an IAM role ARN " +
			"(arn:aws:iam::<12-digit account>:role/<name>)")
	}
	if ref := spec.Auth.SecretRef; ref != nil {
		if ref.AccessKeyID.Key == "" || ref.SecretAccessKey.Key == "" {
			return providers.Configf(
				"spec.provider.aws.auth.secretRef: accessKeyIDSecretRef and secretAccessKeySecretRef both need a key")
		}
	}
	if jwt := spec.Auth.JWTAuth; jwt != nil && jwt.ServiceAccountRef == nil {
		return providers.Configf(
			"spec.provider.aws.auth.jwt needs serviceAccountRef: the ServiceAccount whose " +
				"eks.amazonaws.com/role-arn annotation names the role")
	}
	if ref := spec.Auth.SecretRef; ref != nil {
		for field, sel := range map[string]esv1.SecretKeySelector{
			"spec.provider.aws.auth.secretRef.accessKeyIDSecretRef":     ref.AccessKeyID,
			"spec.provider.aws.auth.secretRef.secretAccessKeySecretRef": ref.SecretAccessKey,
		} {
			if err := providers.CheckRefNamespace(store, sel.Namespace, field); err != nil {
				return err
			}
		}
	}
	if jwt := spec.Auth.JWTAuth; jwt != nil {
		if err := providers.CheckRefNamespace(store, jwt.ServiceAccountRef.Namespace,
			"spec.provider.aws.auth.jwt.serviceAccountRef"); err != nil {
			return err
		}
	}
	return nil
}

// NewClient implements providers.Provider.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (providers.Client, error) {
	cfg, err := p.Config(ctx, store, kube, namespace)
	if err != nil {
		return nil, err
	}
	c := newClient(cfg, store.GetSpec().Provider.AWS, p.opts.Observe)
	c.identity = identityOf(ctx, store, kube, namespace)
	return c, nil
}

// Config returns the AWS configuration a store's aws provider describes: region, retries,
// request timeout and the credentials of its auth and role. Generators (ECR) use it too.
func (p *Provider) Config(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (aws.Config, error) {
	spec := store.GetSpec().Provider.AWS
	opts := append([]func(*config.LoadOptions) error{config.WithRegion(spec.Region)}, p.opts.LoadOptions...)
	if rs := store.GetSpec().RetrySettings; rs != nil && rs.MaxRetries != nil {
		opts = append(opts, config.WithRetryMaxAttempts(int(*rs.MaxRetries)+1))
	}
	if p.opts.RequestTimeout > 0 {
		// Bounds each attempt (the SDK's retryer makes up to three): a backend that accepts
		// connections and never answers would otherwise hold a reconcile worker forever.
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(p.opts.RequestTimeout)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	// The SDK reads whole responses into memory: cap them where they are read. (Wrapped
	// after loading: the loader configures a CA bundle on the SDK's own client type.)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = providers.LimitDoer(cfg.HTTPClient, providers.MaxResponseBytes)
	if namespace != "" {
		// The audit trail: CloudTrail records the user agent of every call, also of stores
		// without a role session. Clients are per namespace (providers.ClientCache).
		cfg.APIOptions = append(cfg.APIOptions,
			awsmiddleware.AddUserAgentKeyValue(UserAgentKey, providers.AuditName(namespace)))
	}
	creds, err := credentialsFor(ctx, cfg, store, kube, namespace, p.untagged)
	if err != nil {
		return aws.Config{}, err
	}
	if creds != nil {
		cfg.Credentials = aws.NewCredentialsCache(creds)
	}
	return cfg, nil
}

// DefaultRate implements providers.DefaultRater: 40 calls a second per store (burst 80)
// stays under Parameter Store's default GetParameter quota per account and region, the
// lowest a store may hit; a batch call counts once and reads up to 20 secrets.
func (*Provider) DefaultRate() (float64, int) { return 40, 80 }
