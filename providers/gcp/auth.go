package gcp

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// scope is the OAuth scope Secret Manager's calls need.
const scope = "https://www.googleapis.com/auth/cloud-platform"

// googleTokenURLs are the token endpoints of Google's service-account keys: a key file names
// one of them in token_uri (older files name the accounts.google.com one).
var googleTokenURLs = map[string]bool{
	"https://oauth2.googleapis.com/token":        true,
	"https://accounts.google.com/o/oauth2/token": true,
	"https://www.googleapis.com/oauth2/v4/token": true,
}

// maxKeyBytes bounds a service-account key file: Google's are about 2.4 KB.
const maxKeyBytes = 16 << 10

const keyField = "spec.provider.gcpsm.auth.secretRef.secretAccessKeySecretRef"

// keyFile is the part of a key file Vigil checks before the auth library reads it.
type keyFile struct {
	Type           string `json:"type"`
	ClientEmail    string `json:"client_email"`
	PrivateKey     string `json:"private_key"`
	TokenURI       string `json:"token_uri"`
	UniverseDomain string `json:"universe_domain"`
}

// grant is a store's Google credentials, who they stand for (for messages, never a
// credential) and the store field that configures them (for the fix a refusal names).
type grant struct {
	creds *auth.Credentials
	who   string
	field string
}

// adcField is what a refusal names when the store has no auth: the controller's own.
const adcField = "the controller (Application Default Credentials)"

// credentials returns the store's Google credentials, in ESO's order: auth.secretRef's
// service-account key, auth.workloadIdentity, auth.workloadIdentityFederation, else the
// controller's own Application Default Credentials.
func (p *Provider) credentials(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (grant, error) {
	a := store.GetSpec().Provider.GCPSM.Auth
	switch {
	case a.SecretRef != nil:
		return p.serviceAccountKey(ctx, store, kube, namespace)
	case a.WorkloadIdentity != nil:
		return p.workloadIdentity(ctx, store, kube, namespace)
	case a.WorkloadIdentityFederation != nil:
		return p.federation(ctx, store, kube, namespace)
	}
	opts := &credentials.DetectOptions{Scopes: []string{scope}, Client: p.httpClient(), Logger: quiet}
	creds, err := credentials.DetectDefault(opts)
	if err != nil {
		return grant{}, providers.Configf("spec.provider.gcpsm.auth is empty and the controller has no Google " +
			"credentials of its own (Application Default Credentials); set auth.secretRef, auth.workloadIdentity " +
			"or auth.workloadIdentityFederation")
	}
	return grant{creds: creds, who: "the controller's own Google credentials", field: adcField}, nil
}

// serviceAccountKey returns the credentials of auth.secretRef's service-account key.
func (p *Provider) serviceAccountKey(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (grant, error) {
	ref := store.GetSpec().Provider.GCPSM.Auth.SecretRef
	key, err := providers.SecretKey(ctx, kube, store, ref.SecretAccessKey, namespace)
	if err != nil {
		return grant{}, err
	}
	f, err := p.checkKey([]byte(key))
	if err != nil {
		return grant{}, err
	}
	opts := &credentials.DetectOptions{Scopes: []string{scope}, Client: p.httpClient(), Logger: quiet}
	creds, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, []byte(key), opts)
	if err != nil {
		// The library's text may quote the file: name the field only.
		return grant{}, providers.Configf("%s: the service-account key could not be read (its private_key is not "+
			"a PEM RSA key); download a new key file for the service account", keyField)
	}
	return grant{creds: creds, who: "service account " + providers.Truncate(f.ClientEmail, 256), field: keyField}, nil
}

// checkKey accepts a service-account key file only: other credential types make the auth
// library read local files, call arbitrary URLs or run programs (Google's advice: validate
// credential configurations from external sources). Its token endpoint must be Google's
// (or the test endpoint's): the library posts a signed assertion there.
func (p *Provider) checkKey(key []byte) (keyFile, error) {
	var f keyFile
	if len(key) > maxKeyBytes {
		return f, providers.Configf("%s: the key is %d bytes, more than the %d a service-account key file has; "+
			"name the key that holds the JSON key file", keyField, len(key), maxKeyBytes)
	}
	if err := json.Unmarshal(key, &f); err != nil {
		return f, providers.Configf("%s: the value is not a JSON service-account key file; create one with "+
			"`gcloud iam service-accounts keys create`", keyField)
	}
	switch {
	case f.Type != "service_account":
		return f, providers.Configf("%s: the key file has type %q; only service_account keys are accepted "+
			"(other credential types are configured with auth.workloadIdentity or auth.workloadIdentityFederation)",
			keyField, providers.Truncate(f.Type, 64))
	case f.ClientEmail == "" || f.PrivateKey == "":
		return f, providers.Configf("%s: the key file has no client_email or private_key", keyField)
	case f.UniverseDomain != "" && f.UniverseDomain != "googleapis.com":
		return f, providers.Configf("%s: the key file's universe_domain %q is not googleapis.com; Vigil reads "+
			"Secret Manager of Google Cloud only", keyField, providers.Truncate(f.UniverseDomain, 64))
	case f.TokenURI != "" && !p.tokenURLAllowed(f.TokenURI):
		return f, providers.Configf("%s: the key file's token_uri is not Google's token endpoint "+
			"(https://oauth2.googleapis.com/token); Vigil sends key assertions to Google only", keyField)
	}
	return f, nil
}

func (p *Provider) tokenURLAllowed(u string) bool {
	if p.opts.Endpoint != nil {
		return u == p.opts.Endpoint.TokenURL
	}
	return googleTokenURLs[u]
}

// httpClient is the client of token exchanges: bounded in time and size like every
// backend call, trusting the test endpoint's CA when one is set.
func (p *Provider) httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if p.opts.Endpoint != nil && p.opts.Endpoint.RootCAs != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: p.opts.Endpoint.RootCAs, MinVersion: tls.VersionTLS12}
	}
	timeout := p.opts.RequestTimeout
	if timeout == 0 {
		timeout = defaultTokenTimeout
	}
	return &http.Client{Transport: providers.LimitResponses(tr, 1<<20), Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// quiet drops the Google libraries' own logging: at debug level they log requests and
// responses, which carry tokens and secret values.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
