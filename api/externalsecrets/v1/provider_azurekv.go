package v1

// AzureAuthType says how a store authenticates to Azure Key Vault (ESO's names).
// +kubebuilder:validation:Enum=ServicePrincipal;ManagedIdentity;WorkloadIdentity
type AzureAuthType string

const (
	// AzureServicePrincipal authenticates as an app registration: tenantId, and clientId with
	// clientSecret or clientCertificate from authSecretRef.
	AzureServicePrincipal AzureAuthType = "ServicePrincipal"
	// AzureManagedIdentity uses the managed identity of the node or pod the controller runs on.
	AzureManagedIdentity AzureAuthType = "ManagedIdentity"
	// AzureWorkloadIdentity exchanges a ServiceAccount token for an Entra ID token (federated
	// credential).
	AzureWorkloadIdentity AzureAuthType = "WorkloadIdentity"
)

// AzureEnvironmentType names the Azure cloud whose endpoints a store uses.
// +kubebuilder:validation:Enum=PublicCloud;USGovernmentCloud;ChinaCloud;GermanCloud;AzureStackCloud
type AzureEnvironmentType string

const (
	AzureEnvironmentPublicCloud       AzureEnvironmentType = "PublicCloud"
	AzureEnvironmentUSGovernmentCloud AzureEnvironmentType = "USGovernmentCloud"
	AzureEnvironmentChinaCloud        AzureEnvironmentType = "ChinaCloud"
	AzureEnvironmentGermanCloud       AzureEnvironmentType = "GermanCloud"
	AzureEnvironmentAzureStackCloud   AzureEnvironmentType = "AzureStackCloud"
)

// AzureKVProvider configures Azure Key Vault (ESO's azurekv): secrets, keys (key/<name>)
// and certificates (cert/<name>) of one vault.
type AzureKVProvider struct {
	// AuthType defines how to authenticate to the vault: ServicePrincipal (default; tenantId
	// and authSecretRef), ManagedIdentity (the identity of the controller's node or pod) or
	// WorkloadIdentity (a ServiceAccount token exchanged for an Entra ID token).
	// +optional
	// +kubebuilder:default=ServicePrincipal
	AuthType *AzureAuthType `json:"authType,omitempty"`
	// VaultURL of the vault the secrets are read from, e.g. https://my-vault.vault.azure.net.
	VaultURL *string `json:"vaultUrl"`
	// TenantID of the Entra ID tenant to authenticate in. Required for ServicePrincipal;
	// optional for WorkloadIdentity (else the ServiceAccount's azure.workload.identity/tenant-id
	// annotation).
	// +optional
	TenantID *string `json:"tenantId,omitempty"`
	// EnvironmentType names the Azure cloud whose endpoints are used: PublicCloud (default),
	// USGovernmentCloud, ChinaCloud, GermanCloud or AzureStackCloud (with customCloudConfig).
	// +kubebuilder:default=PublicCloud
	// +optional
	EnvironmentType AzureEnvironmentType `json:"environmentType,omitempty"`
	// AuthSecretRef names the Secret keys of the service principal's credentials: clientId
	// with clientSecret or clientCertificate. Required for ServicePrincipal.
	// +optional
	AuthSecretRef *AzureKVAuth `json:"authSecretRef,omitempty"`
	// ServiceAccountRef names the ServiceAccount whose token is exchanged with
	// WorkloadIdentity; its azure.workload.identity/client-id annotation names the client.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// IdentityID selects one of several managed identities assigned to the pod (its client id).
	// +optional
	IdentityID *string `json:"identityId,omitempty"`
	// UseAzureSDK selects ESO's newer SDK code path; Vigil always uses the Azure SDK for Go and
	// accepts the field for compatibility.
	// +optional
	// +kubebuilder:default=false
	UseAzureSDK *bool `json:"useAzureSDK,omitempty"`
	// CustomCloudConfig defines the endpoints of Azure Stack Hub or another private cloud.
	// +optional
	CustomCloudConfig *AzureCustomCloudConfig `json:"customCloudConfig,omitempty"`
}

// AzureKVAuth names the Secret keys of service principal credentials.
type AzureKVAuth struct {
	// ClientID of the service principal (or managed identity).
	// +optional
	ClientID *SecretKeySelector `json:"clientId,omitempty"`
	// TenantID of the managed identity.
	// +optional
	TenantID *SecretKeySelector `json:"tenantId,omitempty"`
	// ClientSecret of the service principal.
	// +optional
	ClientSecret *SecretKeySelector `json:"clientSecret,omitempty"`
	// ClientCertificate of the service principal: PEM with the certificate and its private key.
	// +optional
	ClientCertificate *SecretKeySelector `json:"clientCertificate,omitempty"`
}

// AzureCustomCloudConfig configures an Azure Stack or private cloud.
type AzureCustomCloudConfig struct {
	// ActiveDirectoryEndpoint is the Entra ID (AAD) endpoint tokens are requested from.
	ActiveDirectoryEndpoint string `json:"activeDirectoryEndpoint"`
	// KeyVaultEndpoint is the Key Vault service endpoint.
	// +optional
	KeyVaultEndpoint *string `json:"keyVaultEndpoint,omitempty"`
	// KeyVaultDNSSuffix is the DNS suffix of Key Vault URLs.
	// +optional
	KeyVaultDNSSuffix *string `json:"keyVaultDNSSuffix,omitempty"`
	// ResourceManagerEndpoint is the Azure Resource Manager endpoint.
	// +optional
	ResourceManagerEndpoint *string `json:"resourceManagerEndpoint,omitempty"`
	// Audience of the federated credential for workload identity in a custom cloud.
	// +optional
	Audience *string `json:"audience,omitempty"`
}
