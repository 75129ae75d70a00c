package harness

import (
	"context"
	"errors"

	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vigil-dev/vigil/providers/builtin"
	"github.com/vigil-dev/vigil/providers/gcp"
	"github.com/vigil-dev/vigil/test/harness/gcpsm"
)

// WithGCPSM points a registry's GCP provider at a harness Secret Manager (test only, as
// the controller's gcp.EndpointEnv does for the binary).
func WithGCPSM(s *gcpsm.Server) func(*builtin.Options) {
	return func(o *builtin.Options) { o.GCPEndpoint = GCPEndpoint(s) }
}

// GCPEndpoint is the GCP provider's endpoint for a harness Secret Manager.
func GCPEndpoint(s *gcpsm.Server) *gcp.Endpoint {
	return &gcp.Endpoint{Addr: s.Addr, TokenURL: s.TokenURL, STSURL: s.STSURL,
		IAMCredentialsURL: s.IAMCredentialsURL, RootCAs: s.RootCAs}
}

// TrustCluster makes the harness Secret Manager's STS check ServiceAccount tokens with the
// control plane's TokenReview API (audience-aware), as Google checks a trusted cluster's
// tokens against its issuer's keys.
func TrustCluster(s *gcpsm.Server, c client.Client) {
	s.TrustKubernetes(func(ctx context.Context, token string, audiences []string) (string, error) {
		tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: audiences}}
		if err := c.Create(ctx, tr); err != nil {
			return "", err
		}
		if !tr.Status.Authenticated {
			return "", errors.New("token not authenticated for the audiences")
		}
		return tr.Status.User.Username, nil
	})
}
