// Package builtin lists the providers and generators `vigil controller` serves, so that the binary and the
// test harness build the same registry.
package builtin

import (
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/aws"
	"github.com/vigil-dev/vigil/providers/azure"
	"github.com/vigil-dev/vigil/providers/fake"
	"github.com/vigil-dev/vigil/providers/gcp"
	"github.com/vigil-dev/vigil/providers/generators"
	"github.com/vigil-dev/vigil/providers/kubernetes"
	"github.com/vigil-dev/vigil/providers/vault"
)

// Options configure every built-in provider.
type Options struct {
	// Observe is told about every backend call (metrics); may be nil.
	Observe providers.CallObserver
	// RequestTimeout bounds one request to a backend (--provider-request-timeout).
	RequestTimeout time.Duration
	// AWSLoadOptions are applied to AWS configurations (tests pin moto's endpoint).
	AWSLoadOptions []func(*config.LoadOptions) error
	// AllowHTTPHosts are the hosts token-bearing stores (Vault, Kubernetes) may reach over
	// plain http (--allow-insecure-store-hosts); empty: https only.
	AllowHTTPHosts []string
	// LocalAPIServer is the controller's own API server address (rest.Config Host).
	LocalAPIServer string
	// AzureTransport carries Azure Key Vault, Entra ID and IMDS requests; nil is the default
	// transport (tests point it at a local Key Vault).
	AzureTransport http.RoundTripper
	// GCPEndpoint replaces Google's Secret Manager and token endpoints (tests only: the
	// harness server, or gcp.EndpointEnv for the binary); nil in production.
	GCPEndpoint *gcp.Endpoint
}

// Registry returns a registry of every built-in provider and generator.
func Registry(o Options) *providers.Registry {
	awsP := aws.New(aws.Options{Observe: o.Observe, RequestTimeout: o.RequestTimeout, LoadOptions: o.AWSLoadOptions})
	vaultP := vault.New(vault.Options{Observe: o.Observe, RequestTimeout: o.RequestTimeout,
		AllowHTTPHosts: o.AllowHTTPHosts})
	return providers.NewRegistry(
		awsP,
		vaultP,
		kubernetes.New(kubernetes.Options{Observe: o.Observe, RequestTimeout: o.RequestTimeout,
			AllowHTTPHosts: o.AllowHTTPHosts, LocalAPIServer: o.LocalAPIServer}),
		azure.New(azure.Options{Observe: o.Observe, RequestTimeout: o.RequestTimeout, Transport: o.AzureTransport}),
		gcp.New(gcp.Options{Observe: o.Observe, RequestTimeout: o.RequestTimeout, Endpoint: o.GCPEndpoint}),
		fake.New(),
	).WithGenerators(
		generators.Password{},
		generators.ECRAuthorizationToken{AWS: awsP},
		generators.VaultDynamicSecret{Vault: vaultP},
		generators.ClusterGenerator{ECR: generators.ECRAuthorizationToken{AWS: awsP},
			VaultDynamicSecret: generators.VaultDynamicSecret{Vault: vaultP}},
	)
}
