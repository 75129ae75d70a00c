package azure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// Workload identity's annotations on a ServiceAccount and the audience Entra ID requires of
// its tokens (ESO's and the Azure Workload Identity webhook's).
const (
	annotationClientID = "azure.workload.identity/client-id"
	annotationTenantID = "azure.workload.identity/tenant-id"
	exchangeAudience   = "api://AzureADTokenExchange"
	// saTokenTTL of ServiceAccount tokens minted for an exchange: used once, so short.
	saTokenTTL = 10 * time.Minute
)

// cloudOf returns the cloud of a store's environmentType (and customCloudConfig).
func cloudOf(spec *esv1.AzureKVProvider) (cloud.Configuration, error) {
	var c cloud.Configuration
	switch spec.EnvironmentType {
	case "", esv1.AzureEnvironmentPublicCloud:
		c = cloud.AzurePublic
	case esv1.AzureEnvironmentUSGovernmentCloud:
		c = cloud.AzureGovernment
	case esv1.AzureEnvironmentChinaCloud:
		c = cloud.AzureChina
	case esv1.AzureEnvironmentGermanCloud:
		return c, providers.Configf("spec.provider.azurekv.environmentType GermanCloud: Microsoft Cloud Deutschland " +
			"was closed in 2021; use PublicCloud, or AzureStackCloud with customCloudConfig")
	case esv1.AzureEnvironmentAzureStackCloud:
		if spec.CustomCloudConfig == nil {
			return c, providers.Configf("spec.provider.azurekv.environmentType AzureStackCloud needs customCloudConfig " +
				"with activeDirectoryEndpoint")
		}
	default:
		return c, providers.Configf("spec.provider.azurekv.environmentType %q is not supported", spec.EnvironmentType)
	}
	if cc := spec.CustomCloudConfig; cc != nil {
		if err := providers.CheckTransport("spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint",
			cc.ActiveDirectoryEndpoint, nil); err != nil {
			return c, err
		}
		c = cloud.Configuration{ActiveDirectoryAuthorityHost: cc.ActiveDirectoryEndpoint, Services: c.Services}
	}
	return c, nil
}

// clientOptions are the SDK options of every client and credential of a store.
func (p *Provider) clientOptions(store esv1.GenericStore, env cloud.Configuration) azcore.ClientOptions {
	o := azcore.ClientOptions{Cloud: env, Transport: p.httpClient(),
		Telemetry: policy.TelemetryOptions{ApplicationID: "vigil"}}
	if rs := store.GetSpec().RetrySettings; rs != nil && rs.MaxRetries != nil {
		o.Retry.MaxRetries = max(*rs.MaxRetries, 0)
		if o.Retry.MaxRetries == 0 {
			o.Retry.MaxRetries = -1 // the SDK's "no retries"
		}
	}
	return o
}

// credentialFor returns the token credential of a store's authType and a description of
// the identity for messages (no credential in it).
func credentialFor(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string,
	opts azcore.ClientOptions) (azcore.TokenCredential, string, error) {
	spec := store.GetSpec().Provider.AzureKV
	switch authTypeOf(spec) {
	case esv1.AzureManagedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		identity := "the managed identity of the controller's node or pod"
		if spec.IdentityID != nil && *spec.IdentityID != "" {
			o.ID = azidentity.ClientID(*spec.IdentityID)
			identity = fmt.Sprintf("managed identity %s", *spec.IdentityID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(o)
		return cred, identity, sdkSetupError("managed identity", err)
	case esv1.AzureWorkloadIdentity:
		return workloadIdentity(ctx, store, kube, namespace, opts)
	}
	return servicePrincipal(ctx, store, kube, namespace, opts)
}

// servicePrincipal builds a client secret or client certificate credential.
func servicePrincipal(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string,
	opts azcore.ClientOptions) (azcore.TokenCredential, string, error) {
	spec := store.GetSpec().Provider.AzureKV
	a, tenant := spec.AuthSecretRef, *spec.TenantID
	clientID, err := providers.SecretKey(ctx, kube, store, *a.ClientID, namespace)
	if err != nil {
		return nil, "", err
	}
	clientID = strings.TrimSpace(clientID)
	identity := fmt.Sprintf("service principal %s in tenant %s", providers.Truncate(clientID, 64),
		providers.Truncate(tenant, 64))
	if a.ClientSecret != nil {
		secret, err := providers.SecretKey(ctx, kube, store, *a.ClientSecret, namespace)
		if err != nil {
			return nil, "", err
		}
		cred, err := azidentity.NewClientSecretCredential(tenant, clientID, strings.TrimSpace(secret),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
		return cred, identity, sdkSetupError("service principal", err)
	}
	data, err := providers.SecretKey(ctx, kube, store, *a.ClientCertificate, namespace)
	if err != nil {
		return nil, "", err
	}
	certs, key, err := azidentity.ParseCertificates([]byte(data), nil)
	if err != nil {
		// The parser's text may quote the input: name the field only.
		return nil, "", providers.Configf("spec.provider.azurekv.authSecretRef.clientCertificate: the Secret key does "+
			"not hold a PEM (or unencrypted PKCS#12) certificate with its private key; %s", identity)
	}
	cred, err := azidentity.NewClientCertificateCredential(tenant, clientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts})
	return cred, identity, sdkSetupError("service principal", err)
}

// workloadIdentity exchanges tokens of the store's ServiceAccount; without serviceAccountRef
// it uses the controller's own federated token (AZURE_FEDERATED_TOKEN_FILE), as ESO does.
func workloadIdentity(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string,
	opts azcore.ClientOptions) (azcore.TokenCredential, string, error) {
	spec := store.GetSpec().Provider.AzureKV
	ref := spec.ServiceAccountRef
	if ref == nil {
		o := &azidentity.WorkloadIdentityCredentialOptions{ClientOptions: opts}
		if spec.TenantID != nil {
			o.TenantID = *spec.TenantID
		}
		cred, err := azidentity.NewWorkloadIdentityCredential(o)
		return cred, "the controller's workload identity", sdkSetupError("workload identity", err)
	}
	audience := exchangeAudience
	if cc := spec.CustomCloudConfig; cc != nil && cc.Audience != nil && *cc.Audience != "" {
		audience = *cc.Audience
	}
	minter, err := providers.NewServiceAccountToken(ctx, kube, store, *ref, namespace,
		append([]string{audience}, ref.Audiences...), saTokenTTL)
	if err != nil {
		return nil, "", err
	}
	sa := minter.ServiceAccount()
	clientID, tenant, err := workloadIDs(ctx, store, kube, namespace, sa.Annotations)
	if err != nil {
		return nil, "", err
	}
	identity := fmt.Sprintf("workload identity of ServiceAccount %s/%s (client %s)", sa.Namespace, sa.Name,
		providers.Truncate(clientID, 64))
	assertion := func(ctx context.Context) (string, error) {
		tok, _, err := minter.Mint(ctx)
		return tok, err
	}
	cred, err := azidentity.NewClientAssertionCredential(tenant, clientID, assertion,
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: opts})
	return cred, identity, sdkSetupError("workload identity", err)
}

// workloadIDs returns the client and tenant of a workload identity: the ServiceAccount's
// annotations, else authSecretRef; the store's tenantId comes first.
func workloadIDs(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string,
	annotations map[string]string) (clientID, tenant string, err error) {
	spec := store.GetSpec().Provider.AzureKV
	clientID, tenant = annotations[annotationClientID], annotations[annotationTenantID]
	if spec.TenantID != nil && *spec.TenantID != "" {
		tenant = *spec.TenantID
	}
	if a := spec.AuthSecretRef; a != nil {
		if clientID == "" && a.ClientID != nil {
			if clientID, err = providers.SecretKey(ctx, kube, store, *a.ClientID, namespace); err != nil {
				return "", "", err
			}
		}
		if tenant == "" && a.TenantID != nil {
			if tenant, err = providers.SecretKey(ctx, kube, store, *a.TenantID, namespace); err != nil {
				return "", "", err
			}
		}
	}
	if clientID == "" {
		return "", "", providers.Configf("WorkloadIdentity: the ServiceAccount has no %s annotation and "+
			"authSecretRef.clientId is not set; name the app's client id", annotationClientID)
	}
	if tenant == "" {
		return "", "", providers.Configf("WorkloadIdentity: set spec.provider.azurekv.tenantId, or the ServiceAccount's "+
			"%s annotation", annotationTenantID)
	}
	return strings.TrimSpace(clientID), strings.TrimSpace(tenant), nil
}

// sdkSetupError names a credential the SDK refused to build. The SDK's text names missing
// settings (environment variables, an invalid tenant id); it never holds a secret, but it is
// another component's: only its kind is kept.
func sdkSetupError(what string, err error) error {
	if err == nil {
		return nil
	}
	return providers.Configf("%s credential cannot be built from the store's settings (for the controller's own "+
		"workload identity: AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE); check tenantId and "+
		"the client id", what)
}
