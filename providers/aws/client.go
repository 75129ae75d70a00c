package aws

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// storeClient reads from one service with one set of credentials.
type storeClient struct {
	cfg     aws.Config
	service esv1.AWSServiceType
	prefix  string
	sm      *secretsmanager.Client
	ssm     *ssm.Client
	batch   batchState
	// identity is who the credentials stand for (a role ARN when known), for messages.
	identity string
	// smConfig is spec.provider.aws.secretsManager: how PushSecret deletes (push.go).
	smConfig *esv1.AWSSecretsManager
}

// ESO's provider and call names for externalsecret_provider_api_calls_count.
const (
	metricProviderSM  = "AWS/SecretsManager"
	metricProviderSSM = "AWS/ParameterStore"
)

// newClient builds the service's client; every call it makes is observed (metrics) by the
// client's middleware (observeCalls) and names the ExternalSecret it is made for in its
// user agent (nameRequester).
func newClient(cfg aws.Config, spec *esv1.AWSProvider, observe providers.CallObserver) *storeClient {
	c := &storeClient{cfg: cfg, service: spec.Service, prefix: spec.Prefix, smConfig: spec.SecretsManager}
	switch spec.Service {
	case esv1.AWSServiceSecretsManager:
		c.sm = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			o.APIOptions = withRequester(withObserver(o.APIOptions, metricProviderSM, observe))
		})
	case esv1.AWSServiceParameterStore:
		c.ssm = ssm.NewFromConfig(cfg, func(o *ssm.Options) {
			o.APIOptions = withRequester(withObserver(o.APIOptions, metricProviderSSM, observe))
		})
	}
	return c
}

// versionIDPrefix marks a Secrets Manager version id in remoteRef.version; anything else is
// a version stage (ESO's convention).
const versionIDPrefix = "uuid/"

// GetSecret implements providers.Client.
func (c *storeClient) GetSecret(ctx context.Context, ref providers.Ref) ([]byte, error) {
	if c.sm != nil {
		return c.getSecretValue(ctx, ref)
	}
	return c.getParameter(ctx, ref)
}

func (c *storeClient) getSecretValue(ctx context.Context, ref providers.Ref) ([]byte, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.prefix + ref.Key)}
	switch {
	case strings.HasPrefix(ref.Version, versionIDPrefix):
		in.VersionId = aws.String(strings.TrimPrefix(ref.Version, versionIDPrefix))
	case ref.Version != "":
		in.VersionStage = aws.String(ref.Version)
	}
	out, err := c.sm.GetSecretValue(ctx, in)
	if err != nil {
		return nil, c.apiError("GetSecretValue", ref.Key, err)
	}
	if out.SecretString != nil {
		return []byte(*out.SecretString), nil
	}
	return out.SecretBinary, nil
}

func (c *storeClient) getParameter(ctx context.Context, ref providers.Ref) ([]byte, error) {
	name := c.prefix + ref.Key
	if ref.Version != "" {
		name += ":" + ref.Version
	}
	out, err := c.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, c.apiError("GetParameter", ref.Key, err)
	}
	return []byte(aws.ToString(out.Parameter.Value)), nil
}

// Validate resolves the credentials, which reaches STS when a role is involved. It makes no
// Secrets Manager or SSM call: least-privilege roles are granted reads on their keys only,
// and a List call would fail for them.
func (c *storeClient) Validate(ctx context.Context) error {
	_, err := c.cfg.Credentials.Retrieve(ctx)
	return c.apiError("Retrieve credentials", "", err)
}
