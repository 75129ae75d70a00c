package harness

import (
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
	return &gcp.Endpoint{Addr: s.Addr, TokenURL: s.TokenURL, RootCAs: s.RootCAs}
}
