package gcp

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials/externalaccount"
	"cloud.google.com/go/compute/metadata"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// Keyless identities: auth.workloadIdentity (GKE Workload Identity) and
// auth.workloadIdentityFederation (a Kubernetes ServiceAccount token federated through a
// workload identity pool). Both mint a token for a ServiceAccount the store names through
// the TokenRequest API, exchange it at Google's Security Token Service for a federated
// token, and, when a Google service account is named, exchange that at IAM Credentials'
// generateAccessToken for the service account's token. The exchanges are the Google auth
// library's (credentials/externalaccount), as a GKE or fleet credential configuration file
// would run them; Vigil only supplies the subject token, never a file, URL or program.

const (
	// gcpSAAnnotation names the Google service account a Kubernetes ServiceAccount acts as.
	gcpSAAnnotation = "iam.gke.io/gcp-service-account"
	// jwtTokenType is the subject token type of a Kubernetes ServiceAccount token.
	jwtTokenType = "urn:ietf:params:oauth:token-type:jwt"
	// stsURL is Google's Security Token Service.
	stsURL = "https://sts.googleapis.com/v1/token"
	// iamCredentialsURL is the prefix of IAM Credentials' generateAccessToken URL, followed
	// by the service account's email and ":generateAccessToken".
	iamCredentialsURL = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
	// saTokenTTL is the lifetime of the ServiceAccount tokens minted for an exchange (ESO's).
	saTokenTTL = 15 * time.Minute
	// metadataTimeout bounds a read of the GKE metadata server (cluster name, location, project).
	metadataTimeout = 5 * time.Second
)

var (
	// gcpServiceAccount is the form of a Google service account's email (ESO's).
	gcpServiceAccount = regexp.MustCompile(`^[a-z0-9-]{1,100}@[a-z0-9-]{1,100}\.iam\.gserviceaccount\.com$`)
	// clusterName is a GKE cluster name.
	clusterName = regexp.MustCompile(`^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$`)
	// poolAudience is the audience of a workload identity pool provider, or the
	// identitynamespace form of GKE and fleet Workload Identity.
	poolAudience = regexp.MustCompile(`^(?://iam\.googleapis\.com/[A-Za-z0-9._/-]{1,400}|` +
		`identitynamespace:[a-z0-9.:-]{1,100}:https://[A-Za-z0-9._/-]{1,300})$`)
)

const (
	wiField  = "spec.provider.gcpsm.auth.workloadIdentity"
	wifField = "spec.provider.gcpsm.auth.workloadIdentityFederation"
)

// validateWorkloadIdentity checks auth.workloadIdentity without I/O.
func validateWorkloadIdentity(store esv1.GenericStore, wi *esv1.GCPWorkloadIdentity) error {
	switch {
	case wi.ServiceAccountRef.Name == "":
		return providers.Configf("%s.serviceAccountRef.name is empty; name the Kubernetes ServiceAccount to act as", wiField)
	case wi.ClusterProjectID != "" && !projectID.MatchString(wi.ClusterProjectID):
		return providers.Configf("%s.clusterProjectID %q is not a Google Cloud project id", wiField,
			providers.Truncate(wi.ClusterProjectID, 64))
	case wi.ClusterLocation != "" && !location.MatchString(wi.ClusterLocation):
		return providers.Configf("%s.clusterLocation %q is not a Google Cloud location (e.g. europe-west1)", wiField,
			providers.Truncate(wi.ClusterLocation, 64))
	case wi.ClusterName != "" && !clusterName.MatchString(wi.ClusterName):
		return providers.Configf("%s.clusterName %q is not a GKE cluster name (lowercase letters, digits and "+
			"hyphens, at most 40)", wiField, providers.Truncate(wi.ClusterName, 64))
	}
	if err := checkAudiences(wiField, wi.ServiceAccountRef.Audiences); err != nil {
		return err
	}
	return providers.CheckRefNamespace(store, wi.ServiceAccountRef.Namespace, wiField+".serviceAccountRef")
}

// validateFederation checks auth.workloadIdentityFederation without I/O. Of ESO's three
// subject token sources only serviceAccountRef is implemented: a credConfig runs the auth
// library on a tenant's credential file (files, URLs, programs) and awsSecurityCredentials
// signs AWS requests; both are refused by name rather than ignored.
func validateFederation(store esv1.GenericStore, f *esv1.GCPWorkloadIdentityFederation) error {
	switch {
	case f.CredConfig != nil || f.ExternalTokenEndpoint != "":
		return providers.Configf("%s.credConfig (and externalTokenEndpoint) is not implemented by Vigil; use "+
			"serviceAccountRef with audience", wifField)
	case f.AwsSecurityCredentials != nil:
		return providers.Configf("%s.awsSecurityCredentials is not implemented by Vigil; use serviceAccountRef "+
			"with audience", wifField)
	case f.ServiceAccountRef == nil || f.ServiceAccountRef.Name == "":
		return providers.Configf("%s.serviceAccountRef.name is empty; name the Kubernetes ServiceAccount whose "+
			"tokens the workload identity pool trusts", wifField)
	case f.Audience == "":
		return providers.Configf("%s.audience is empty; set the workload identity pool provider "+
			"(//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)",
			wifField)
	case !poolAudience.MatchString(f.Audience):
		return providers.Configf("%s.audience %q is not a workload identity pool provider "+
			"(//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>)",
			wifField, providers.Truncate(f.Audience, 128))
	case f.GCPServiceAccountEmail != "" && !gcpServiceAccount.MatchString(f.GCPServiceAccountEmail):
		return providers.Configf("%s.gcpServiceAccountEmail %q is not a service account email "+
			"(<name>@<project>.iam.gserviceaccount.com)", wifField, providers.Truncate(f.GCPServiceAccountEmail, 128))
	}
	if err := checkAudiences(wifField, f.ServiceAccountRef.Audiences); err != nil {
		return err
	}
	return providers.CheckRefNamespace(store, f.ServiceAccountRef.Namespace, wifField+".serviceAccountRef")
}

// checkAudiences bounds the extra audiences of the minted token.
func checkAudiences(field string, audiences []string) error {
	if len(audiences) > 8 {
		return providers.LimitError("%s.serviceAccountRef.audiences has %d entries; at most 8 are accepted", field,
			len(audiences))
	}
	for _, a := range audiences {
		if a == "" || len(a) > 512 {
			return providers.Configf("%s.serviceAccountRef.audiences has an empty entry or one longer than 512 "+
				"bytes", field)
		}
	}
	return nil
}

// workloadIdentity returns the credentials of auth.workloadIdentity: the ServiceAccount's
// token, with the cluster's identity namespace (<project>.svc.id.goog) as its audience, is
// exchanged at STS for the identity namespace's federated token, as GKE's metadata server
// does; the ServiceAccount's iam.gke.io/gcp-service-account annotation, when present, then
// names the Google service account to act as (else the federated principal
// serviceAccount:<project>.svc.id.goog[<namespace>/<name>] is used directly, as in ESO).
func (p *Provider) workloadIdentity(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (grant, error) {
	wi := store.GetSpec().Provider.GCPSM.Auth.WorkloadIdentity
	project, loc, name, err := p.cluster(ctx, wi)
	if err != nil {
		return grant{}, err
	}
	pool := project + ".svc.id.goog"
	idProvider := "https://container.googleapis.com/v1/projects/" + project + "/locations/" + loc + "/clusters/" + name
	tokens, err := providers.NewServiceAccountToken(ctx, kube, store, wi.ServiceAccountRef, namespace,
		append([]string{pool}, wi.ServiceAccountRef.Audiences...), saTokenTTL)
	if err != nil {
		return grant{}, fmt.Errorf("%s: %w", wiField, err)
	}
	sa := tokens.ServiceAccount()
	gsa, err := annotatedAccount(sa.Annotations[gcpSAAnnotation], sa.Namespace, sa.Name)
	if err != nil {
		return grant{}, err
	}
	who := fmt.Sprintf("serviceAccount:%s[%s/%s]", pool, sa.Namespace, sa.Name)
	if gsa != "" {
		who = "service account " + gsa + " (as " + who + ")"
	}
	creds, err := p.federated("identitynamespace:"+pool+":"+idProvider, gsa, tokens)
	return grant{creds: creds, who: who, field: wiField}, err
}

// federation returns the credentials of auth.workloadIdentityFederation with a
// serviceAccountRef: the ServiceAccount's token is exchanged at STS for the pool's
// federated token, and for a Google service account's token when gcpServiceAccountEmail
// or the ServiceAccount's iam.gke.io/gcp-service-account annotation names one.
func (p *Provider) federation(ctx context.Context, store esv1.GenericStore, kube client.Client,
	namespace string) (grant, error) {
	f := store.GetSpec().Provider.GCPSM.Auth.WorkloadIdentityFederation
	audiences := f.ServiceAccountRef.Audiences
	if len(audiences) == 0 {
		// Never the API server's default audience (the token would be good on this
		// cluster too): a pool provider's default allowed audience is its own name as an
		// https URL.
		audiences = []string{defaultTokenAudience(f.Audience)}
	}
	tokens, err := providers.NewServiceAccountToken(ctx, kube, store, *f.ServiceAccountRef, namespace,
		audiences, saTokenTTL)
	if err != nil {
		return grant{}, fmt.Errorf("%s: %w", wifField, err)
	}
	sa := tokens.ServiceAccount()
	gsa := f.GCPServiceAccountEmail
	if gsa == "" {
		if gsa, err = annotatedAccount(sa.Annotations[gcpSAAnnotation], sa.Namespace, sa.Name); err != nil {
			return grant{}, err
		}
	}
	who := fmt.Sprintf("ServiceAccount %s/%s through %s", sa.Namespace, sa.Name, providers.Truncate(f.Audience, 256))
	if gsa != "" {
		who = "service account " + gsa + " (as " + who + ")"
	}
	creds, err := p.federated(f.Audience, gsa, tokens)
	return grant{creds: creds, who: who, field: wifField}, err
}

// defaultTokenAudience is the audience a workload identity pool provider accepts when none
// is configured: https: and its resource name (//iam.googleapis.com/...); for the
// identitynamespace form, the identity namespace.
func defaultTokenAudience(audience string) string {
	if ns, ok := strings.CutPrefix(audience, "identitynamespace:"); ok {
		return ns[:strings.IndexByte(ns, ':')]
	}
	return "https:" + audience
}

// annotatedAccount checks the iam.gke.io/gcp-service-account annotation's value, which
// becomes part of the IAM Credentials URL.
func annotatedAccount(v, namespace, name string) (string, error) {
	if v != "" && !gcpServiceAccount.MatchString(v) {
		return "", providers.Configf("ServiceAccount %s/%s: annotation %s %q is not a service account email "+
			"(<name>@<project>.iam.gserviceaccount.com)", namespace, name, gcpSAAnnotation, providers.Truncate(v, 128))
	}
	return v, nil
}

// federated builds the auth library's external-account credentials from a subject token
// minter: STS (Google's or the test endpoint's), then IAM Credentials when gsa is set.
func (p *Provider) federated(audience, gsa string, tokens *providers.ServiceAccountToken) (*auth.Credentials, error) {
	sts, iamc := stsURL, iamCredentialsURL
	if ep := p.opts.Endpoint; ep != nil {
		sts, iamc = ep.STSURL, ep.IAMCredentialsURL
	}
	opts := &externalaccount.Options{
		Audience: audience, SubjectTokenType: jwtTokenType, TokenURL: sts, Scopes: []string{scope},
		SubjectTokenProvider: subjectTokens{tokens}, Client: p.httpClient(), Logger: quiet,
	}
	if gsa != "" {
		opts.ServiceAccountImpersonationURL = iamc + gsa + ":generateAccessToken"
	}
	creds, err := externalaccount.NewCredentials(opts)
	if err != nil {
		return nil, fmt.Errorf("building the federated credentials: %s", providers.FailureCode(err))
	}
	return creds, nil
}

// subjectTokens supplies ServiceAccount tokens to the auth library's STS exchange.
type subjectTokens struct {
	tokens *providers.ServiceAccountToken
}

// SubjectToken implements externalaccount.SubjectTokenProvider.
func (s subjectTokens) SubjectToken(ctx context.Context, _ *externalaccount.RequestOptions) (string, error) {
	tok, _, err := s.tokens.Mint(ctx)
	if err != nil {
		return "", &mintError{err}
	}
	return tok, nil
}

// cluster returns the GKE cluster's project, location and name: the store's, else the
// metadata server's (on GKE), as in ESO.
func (p *Provider) cluster(ctx context.Context, wi *esv1.GCPWorkloadIdentity) (project, loc, name string, err error) {
	project, loc, name = wi.ClusterProjectID, wi.ClusterLocation, wi.ClusterName
	if project != "" && loc != "" && name != "" {
		return project, loc, name, nil
	}
	if p.opts.Endpoint != nil {
		return "", "", "", providers.Configf("%s: clusterProjectID, clusterLocation and clusterName must be set "+
			"(no metadata server with a test endpoint)", wiField)
	}
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	md := metadata.NewWithOptions(&metadata.Options{Client: p.httpClient(), Logger: quiet})
	read := func(dst *string, what string, get func() (string, error), check *regexp.Regexp) error {
		if *dst != "" {
			return nil
		}
		v, err := get()
		if err != nil || !check.MatchString(v) {
			return providers.Configf("%s.%s is empty and the GKE metadata server did not answer with one (is the "+
				"controller running on GKE?); set it", wiField, what)
		}
		*dst = v
		return nil
	}
	if err := read(&project, "clusterProjectID", func() (string, error) { return md.ProjectIDWithContext(ctx) },
		projectID); err != nil {
		return "", "", "", err
	}
	if err := read(&loc, "clusterLocation", func() (string, error) {
		return md.InstanceAttributeValueWithContext(ctx, "cluster-location")
	}, location); err != nil {
		return "", "", "", err
	}
	err = read(&name, "clusterName", func() (string, error) {
		return md.InstanceAttributeValueWithContext(ctx, "cluster-name")
	}, clusterName)
	return project, loc, name, err
}
