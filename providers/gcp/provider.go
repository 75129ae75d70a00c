// Package gcp is the provider for Google Cloud Secret Manager (ESO's gcpsm), on Google's
// official Go client (cloud.google.com/go/secretmanager) over gRPC.
//
// Google ships no emulator of Secret Manager: the tests run it against test/harness/gcpsm,
// a server on the service's official gRPC definitions with Google's token endpoint for
// service-account keys. The provider reaches such a server only through Options.Endpoint,
// which `vigil controller` sets from the test-only environment variable EndpointEnv, never
// from a store.
package gcp

import (
	"context"
	"crypto/x509"
	"fmt"
	"regexp"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// EndpointEnv is the test-only environment variable `vigil controller` reads an Endpoint
// from: an https URL whose host:port serves Secret Manager's gRPC API and whose /token path
// is the OAuth token endpoint that keys may name (docs/providers.md). Its certificate must
// be trusted by the system roots (SSL_CERT_FILE).
const EndpointEnv = "VIGIL_GCPSM_ENDPOINT"

// Endpoint replaces Google's endpoints (tests).
type Endpoint struct {
	// Addr is the host:port of Secret Manager, for every location.
	Addr string
	// TokenURL is the one token_uri a service-account key may name besides Google's.
	TokenURL string
	// STSURL replaces Google's Security Token Service (https://sts.googleapis.com/v1/token).
	STSURL string
	// IAMCredentialsURL replaces the prefix of IAM Credentials' generateAccessToken URL
	// (https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/); the service
	// account's email and ":generateAccessToken" follow it.
	IAMCredentialsURL string
	// RootCAs trusts the endpoint's certificate; nil means the system roots.
	RootCAs *x509.CertPool
}

// Options configure the GCP provider.
type Options struct {
	// Observe is told about every Secret Manager call (metrics); may be nil.
	Observe providers.CallObserver
	// RequestTimeout bounds one call to Google; 0 leaves the client's defaults.
	RequestTimeout time.Duration
	// Endpoint, when set, replaces Google's endpoints (tests only).
	Endpoint *Endpoint
}

// Provider is the GCP Secret Manager provider.
type Provider struct{ opts Options }

// New returns the GCP provider.
func New(opts Options) *Provider {
	if opts.Observe == nil {
		opts.Observe = func(string, string, error, time.Duration) {}
	}
	return &Provider{opts: opts}
}

// Name implements providers.Provider.
func (*Provider) Name() string { return "gcpsm" }

var (
	// projectID is a project id (optionally domain-scoped, example.com:project) or number.
	projectID = regexp.MustCompile(`^(?:[a-z][a-z0-9.-]{0,62}:)?[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$`)
	// location is a Google Cloud location; it becomes part of the regional endpoint's host.
	location = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
)

// ValidateStore implements providers.Provider.
func (*Provider) ValidateStore(store esv1.GenericStore) error {
	spec := store.GetSpec().Provider.GCPSM
	switch {
	case spec.ProjectID == "":
		return providers.Configf("spec.provider.gcpsm.projectID is empty; set the project that holds the secrets")
	case !projectID.MatchString(spec.ProjectID):
		return providers.Configf("spec.provider.gcpsm.projectID %q is not a Google Cloud project id "+
			"(lowercase letters, digits and hyphens, e.g. my-project-123)", providers.Truncate(spec.ProjectID, 64))
	case spec.Location != "" && !location.MatchString(spec.Location):
		return providers.Configf("spec.provider.gcpsm.location %q is not a Google Cloud location "+
			"(lowercase letters, digits and hyphens, e.g. europe-west1)", providers.Truncate(spec.Location, 64))
	}
	switch spec.SecretVersionSelectionPolicy {
	case "", esv1.SecretVersionSelectionPolicyLatestOrFail, esv1.SecretVersionSelectionPolicyLatestOrFetch:
	default:
		return providers.Configf("spec.provider.gcpsm.secretVersionSelectionPolicy %q is not supported; use "+
			"LatestOrFail or LatestOrFetch", providers.Truncate(string(spec.SecretVersionSelectionPolicy), 64))
	}
	if ref := spec.Auth.SecretRef; ref != nil {
		if ref.SecretAccessKey.Name == "" || ref.SecretAccessKey.Key == "" {
			return providers.Configf("spec.provider.gcpsm.auth.secretRef.secretAccessKeySecretRef needs a name and a " +
				"key: the Secret and key that hold the service-account key file (JSON)")
		}
		return providers.CheckRefNamespace(store, ref.SecretAccessKey.Namespace,
			"spec.provider.gcpsm.auth.secretRef.secretAccessKeySecretRef")
	}
	if wi := spec.Auth.WorkloadIdentity; wi != nil {
		return validateWorkloadIdentity(store, wi)
	}
	if f := spec.Auth.WorkloadIdentityFederation; f != nil {
		return validateFederation(store, f)
	}
	return nil
}

// NewClient implements providers.Provider.
func (p *Provider) NewClient(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (providers.Client, error) {
	if err := p.ValidateStore(store); err != nil {
		return nil, err
	}
	spec := store.GetSpec().Provider.GCPSM
	g, err := p.credentials(ctx, store, kube, namespace)
	if err != nil {
		return nil, err
	}
	c := &storeClient{project: spec.ProjectID, location: spec.Location, identity: g.who, authField: g.field,
		creds:       g.creds,
		fetchLatest: spec.SecretVersionSelectionPolicy == esv1.SecretVersionSelectionPolicyLatestOrFetch,
		observe:     p.opts.Observe, timeout: p.opts.RequestTimeout}
	if c.sm, err = p.dial(ctx, g.creds, spec.Location, namespace); err != nil {
		return nil, fmt.Errorf("building the Secret Manager client: %s", providers.FailureCode(err))
	}
	return c, nil
}

// DefaultRate implements providers.DefaultRater: Secret Manager's default quota is 90,000
// access requests a minute per project (1,500 a second); 100 a second per store (burst 200)
// leaves room for many stores on one project.
func (*Provider) DefaultRate() (float64, int) { return 100, 200 }
