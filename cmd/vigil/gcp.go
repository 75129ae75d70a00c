package main

import (
	"net/url"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/vigil-dev/vigil/providers/gcp"
)

// gcpEndpoint reads the test-only environment variable gcp.EndpointEnv (an https URL of a
// local Secret Manager with its token endpoint at /token, and STS and IAM Credentials at
// Google's paths, docs/providers.md): Google ships
// no emulator, and the e2e suites and `make demo` point the controller at the harness's
// server with it, as AWS_ENDPOINT_URL points the AWS SDK at moto. It is the cluster
// admin's (the controller's environment), never a store's. Unset: Google's endpoints.
func gcpEndpoint(raw string) *gcp.Endpoint {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		ctrl.Log.WithName("setup").Info("ignoring " + gcp.EndpointEnv +
			": not an https://host:port URL; using Google's endpoints")
		return nil
	}
	ctrl.Log.WithName("setup").Info("GCP Secret Manager endpoint replaced (test only)", "host", u.Host)
	base := "https://" + u.Host
	return &gcp.Endpoint{Addr: u.Host, TokenURL: base + "/token", STSURL: base + "/v1/token",
		IAMCredentialsURL: base + "/v1/projects/-/serviceAccounts/"}
}
