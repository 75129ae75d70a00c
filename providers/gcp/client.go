package gcp

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"time"

	"cloud.google.com/go/auth"
	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	smpb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"

	"github.com/vigil-dev/vigil/providers"
)

// metricProvider is ESO's provider label of externalsecret_provider_api_calls_count.
const metricProvider = "GCP/SecretManager"

// defaultTokenTimeout bounds a token exchange when no request timeout is configured.
const defaultTokenTimeout = 30 * time.Second

// storeClient reads and writes one project's secrets (of one location) with one identity.
type storeClient struct {
	sm          *secretmanager.Client
	creds       *auth.Credentials
	project     string
	location    string
	identity    string
	authField   string // the store field of the credentials, for a refusal's fix
	fetchLatest bool   // secretVersionSelectionPolicy LatestOrFetch
	observe     providers.CallObserver
	timeout     time.Duration
}

// endpoint is Google's Secret Manager endpoint for a location (ESO's): the global one, or
// the regional secretmanager.<location>.rep.googleapis.com for regional secrets.
func endpoint(location string) string {
	if location == "" {
		return "secretmanager.googleapis.com:443"
	}
	return "secretmanager." + location + ".rep.googleapis.com:443"
}

// dial builds the gRPC client. The namespace using the store goes into the user agent,
// which Cloud Audit Logs record with every call (docs/audit-trail.md).
func (p *Provider) dial(ctx context.Context, creds *auth.Credentials, location, namespace string) (
	*secretmanager.Client, error) {
	opts := []option.ClientOption{
		option.WithAuthCredentials(creds), option.WithEndpoint(endpoint(location)), option.WithLogger(quiet),
		option.WithTelemetryDisabled(),
		option.WithUserAgent("vigil/" + providers.AuditName(namespace)),
		// A backend's answer is input too: no message larger than the limit is read.
		option.WithGRPCDialOption(grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(providers.MaxResponseBytes))),
	}
	if ep := p.opts.Endpoint; ep != nil {
		opts = append(opts, option.WithEndpoint(ep.Addr), option.WithGRPCDialOption(grpc.WithTransportCredentials(
			grpccreds.NewTLS(&tls.Config{RootCAs: ep.RootCAs, MinVersion: tls.VersionTLS12}))))
	}
	return secretmanager.NewClient(ctx, opts...)
}

// Close implements providers.Closer: the gRPC connection goes with the client.
func (c *storeClient) Close() { _ = c.sm.Close() }

// parent is the resource the store's secrets live in.
func (c *storeClient) parent() string {
	if c.location != "" {
		return "projects/" + c.project + "/locations/" + c.location
	}
	return "projects/" + c.project
}

func (c *storeClient) secretName(key string) string { return c.parent() + "/secrets/" + key }

var (
	// secretID is the form of a secret id: a key is one, never a path to another resource.
	secretID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	// versionID is a version number, "latest" or a version alias.
	versionID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,63}$`)
)

func checkKey(key string) error {
	if !secretID.MatchString(key) {
		return providers.Configf("key %q is not a Secret Manager secret id (1 to 255 letters, digits, _ or -); "+
			"name the secret by its id, not its resource name", providers.Truncate(key, 256))
	}
	return nil
}

// call runs one Secret Manager call: it first makes sure the store's credentials yield a
// token (so that a refused key is reported as such, not as the gRPC call's failure), bounds
// the call in time and reports it to the metrics.
func (c *storeClient) call(ctx context.Context, op string, fn func(context.Context) error) error {
	if _, err := c.creds.Token(ctx); err != nil {
		return c.tokenError(err)
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	start := time.Now()
	err := fn(ctx)
	c.observe(metricProvider, op, err, time.Since(start))
	return err
}

// GetSecret implements providers.Client: the secret's version remoteRef.version names
// ("latest" when empty).
func (c *storeClient) GetSecret(ctx context.Context, ref providers.Ref) ([]byte, error) {
	if err := checkKey(ref.Key); err != nil {
		return nil, err
	}
	version := ref.Version
	if version == "" {
		version = "latest"
	} else if !versionID.MatchString(version) {
		return nil, providers.Configf("key %s: remoteRef.version is not a version number, latest or an alias", ref)
	}
	data, err := c.access(ctx, ref.Key, c.secretName(ref.Key)+"/versions/"+version)
	if err != nil && ref.Version == "" && c.fetchLatest && isCode(err, codes.FailedPrecondition) {
		data, err = c.newestEnabled(ctx, ref.Key)
	}
	if err != nil {
		return nil, err
	}
	return data, providers.CheckValue(ref, data)
}

// access reads one version's payload and checks its checksum.
func (c *storeClient) access(ctx context.Context, key, name string) ([]byte, error) {
	var resp *smpb.AccessSecretVersionResponse
	err := c.call(ctx, "AccessSecretVersion", func(ctx context.Context) (err error) {
		resp, err = c.sm.AccessSecretVersion(ctx, &smpb.AccessSecretVersionRequest{Name: name})
		return err
	})
	if err != nil {
		return nil, c.apiError("AccessSecretVersion", key, name, err)
	}
	data := resp.GetPayload().GetData()
	if sum := resp.GetPayload().DataCrc32C; sum != nil &&
		uint32(*sum) != crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) {
		return nil, fmt.Errorf("key %q: the payload Secret Manager returned does not match its checksum", key)
	}
	return data, nil
}

// newestEnabled reads the newest enabled version (secretVersionSelectionPolicy
// LatestOrFetch, when "latest" is disabled or destroyed).
func (c *storeClient) newestEnabled(ctx context.Context, key string) ([]byte, error) {
	var newest *smpb.SecretVersion
	err := c.call(ctx, "ListSecretVersions", func(ctx context.Context) error {
		it := c.sm.ListSecretVersions(ctx, &smpb.ListSecretVersionsRequest{
			Parent: c.secretName(key), Filter: "state:ENABLED"})
		for n := 0; n < providers.MaxFindScanned; n++ {
			v, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return nil
			}
			if err != nil {
				return err
			}
			if newest == nil || v.GetCreateTime().AsTime().After(newest.GetCreateTime().AsTime()) {
				newest = v
			}
		}
		return nil
	})
	if err != nil {
		return nil, c.apiError("ListSecretVersions", key, c.secretName(key), err)
	}
	if newest == nil {
		return nil, providers.NotFound(providers.Ref{Key: key}, errors.New("the secret has no enabled version"))
	}
	return c.access(ctx, key, newest.GetName())
}

// getSecret reads a secret's resource (labels, annotations), not its value.
func (c *storeClient) getSecret(ctx context.Context, key string) (*smpb.Secret, error) {
	var s *smpb.Secret
	err := c.call(ctx, "GetSecret", func(ctx context.Context) (err error) {
		s, err = c.sm.GetSecret(ctx, &smpb.GetSecretRequest{Name: c.secretName(key)})
		return err
	})
	if err != nil {
		return nil, c.apiError("GetSecret", key, c.secretName(key), err)
	}
	return s, nil
}

// GetMetadataDocument implements providers.MetadataDocumentGetter (metadataPolicy Fetch):
// {"annotations": {...}, "labels": {...}} as ESO returns it, so that property "labels.env"
// selects one label and "labels" all of them.
func (c *storeClient) GetMetadataDocument(ctx context.Context, ref providers.Ref) ([]byte, error) {
	if err := checkKey(ref.Key); err != nil {
		return nil, err
	}
	s, err := c.getSecret(ctx, ref.Key)
	if err != nil {
		return nil, err
	}
	doc := map[string]map[string]string{"annotations": s.GetAnnotations(), "labels": s.GetLabels()}
	for k, v := range doc {
		if v == nil {
			doc[k] = map[string]string{}
		}
	}
	return json.Marshal(doc)
}

// GetMetadata implements providers.MetadataGetter: the secret's labels.
func (c *storeClient) GetMetadata(ctx context.Context, ref providers.Ref) (map[string]string, error) {
	if err := checkKey(ref.Key); err != nil {
		return nil, err
	}
	s, err := c.getSecret(ctx, ref.Key)
	if err != nil {
		return nil, err
	}
	return s.GetLabels(), nil
}

// Validate implements providers.Client: the credentials must yield a token (a key Google
// refuses fails here). It makes no Secret Manager call: a least-privilege service account
// may only access its own secrets, and a listing would fail for it.
func (c *storeClient) Validate(ctx context.Context) error {
	if _, err := c.creds.Token(ctx); err != nil {
		return c.tokenError(err)
	}
	return nil
}

// checksum is the CRC32C of data, which Secret Manager checks on AddSecretVersion.
func checksum(data []byte) *int64 {
	sum := int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	return &sum
}
