package generators

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/aws"
)

// ECRAuthorizationToken generates an ECR registry login with GetAuthorizationToken, using
// the AWS provider's configuration and credentials (auth and role as in a SecretStore).
type ECRAuthorizationToken struct{ AWS *aws.Provider }

// Kind implements providers.Generator.
func (ECRAuthorizationToken) Kind() string { return ecrKind }

// Generate implements providers.Generator: username, password, proxy_endpoint, expires_at.
func (g ECRAuthorizationToken) Generate(ctx context.Context, kube client.Client, namespace,
	name string) (map[string][]byte, error) {
	var gen genv1alpha1.ECRAuthorizationToken
	if err := get(ctx, kube, "ECRAuthorizationToken", namespace, name, &gen); err != nil {
		return nil, err
	}
	return g.FromSpec(ctx, kube, namespace, name, gen.Spec)
}

// FromSpec generates what an ECRAuthorizationToken named name with spec generates for
// namespace (also for a ClusterGenerator: credentials resolve in the using namespace).
func (g ECRAuthorizationToken) FromSpec(ctx context.Context, kube client.Client, namespace, name string,
	spec genv1alpha1.ECRAuthorizationTokenSpec) (map[string][]byte, error) {
	if spec.Scope != "" && spec.Scope != "private" {
		return nil, providers.Configf("ECRAuthorizationToken %s/%s: spec.scope %q is not implemented by Vigil yet "+
			"(only private registries); see docs/providers.md", namespace, name, spec.Scope)
	}
	store := asStore(namespace, name, esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
		Service: esv1.AWSServiceSecretsManager, Region: spec.Region, Auth: spec.Auth, Role: spec.Role,
	}})
	if err := g.AWS.ValidateStore(store); err != nil {
		return nil, fmt.Errorf("ECRAuthorizationToken %s/%s: %w", namespace, name, err)
	}
	cfg, err := g.AWS.Config(ctx, store, kube, namespace)
	if err != nil {
		return nil, err
	}
	client := ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.APIOptions = g.AWS.ObserveCalls(o.APIOptions, "AWS/ECR") })
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, aws.ServiceError("AWS ECR", "ecr", "GetAuthorizationToken", err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return nil, fmt.Errorf("ECR GetAuthorizationToken returned no token")
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(*d.AuthorizationToken)
	if err != nil {
		return nil, fmt.Errorf("ECR token is not base64: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, fmt.Errorf("ECR token is not user:password")
	}
	data := map[string][]byte{"username": []byte(user), "password": []byte(pass)}
	if d.ProxyEndpoint != nil {
		data["proxy_endpoint"] = []byte(*d.ProxyEndpoint)
	}
	if d.ExpiresAt != nil {
		data["expires_at"] = []byte(strconv.FormatInt(d.ExpiresAt.Unix(), 10))
	}
	return data, nil
}

var _ providers.Generator = ECRAuthorizationToken{}
