package azure

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// certAPIVersion is the Key Vault API version of certificate reads (azkeys v1.5's).
const certAPIVersion = "2025-07-01"

// certClient reads certificates. The SDK's azcertificates module is not available to this
// build, so the one call the provider needs is made on azcore's pipeline (retries, the
// store's transport) with a bearer token for the vault's scope, which Key Vault accepts
// without a challenge.
type certClient struct {
	vault string
	pl    runtime.Pipeline
}

func newCertClient(vault string, cred azcore.TokenCredential, scope string, opts azcore.ClientOptions) (*certClient,
	error) {
	c, err := azcore.NewClient("vigil.azurekv.certificates", "v1.0.0", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{scope}, nil)},
	}, &opts)
	if err != nil {
		return nil, fmt.Errorf("key vault certificates client: %w", err)
	}
	return &certClient{vault: vault, pl: c.Pipeline()}, nil
}

// certBundle is the part of a CertificateBundle the provider reads.
type certBundle struct {
	CER  []byte             `json:"cer"`
	Tags map[string]*string `json:"tags"`
}

// get reads a certificate's version ("" the current one).
func (c *certClient) get(ctx context.Context, name, version string) (*certBundle, error) {
	u := c.vault + "/certificates/" + url.PathEscape(name) + "/" + url.PathEscape(version)
	req, err := runtime.NewRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", certAPIVersion)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := c.pl.Do(req)
	if err != nil {
		return nil, err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return nil, runtime.NewResponseError(resp)
	}
	var b certBundle
	if err := runtime.UnmarshalAsJSON(resp, &b); err != nil {
		return nil, err
	}
	return &b, nil
}
