package v1

// AzureKVProvider configures Azure Key Vault (ESO's azurekv). Vigil serves the fields so
// that ESO manifests apply; a store using it is not Ready until the provider is implemented
// (docs/providers.md).
type AzureKVProvider struct {
	// AuthType: ServicePrincipal, ManagedIdentity or WorkloadIdentity.
	// +optional
	// +kubebuilder:default=ServicePrincipal
	// +kubebuilder:validation:Enum=ServicePrincipal;ManagedIdentity;WorkloadIdentity
	AuthType *string `json:"authType,omitempty"`
	// VaultURL, e.g. https://my-vault.vault.azure.net.
	VaultURL *string `json:"vaultUrl"`
	// +optional
	TenantID *string `json:"tenantId,omitempty"`
	// +kubebuilder:default=PublicCloud
	// +kubebuilder:validation:Enum=PublicCloud;USGovernmentCloud;ChinaCloud;GermanCloud;AzureStackCloud
	// +optional
	EnvironmentType string `json:"environmentType,omitempty"`
	// +optional
	AuthSecretRef *AzureKVAuth `json:"authSecretRef,omitempty"`
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// +optional
	IdentityID *string `json:"identityId,omitempty"`
	// +optional
	// +kubebuilder:default=false
	UseAzureSDK *bool `json:"useAzureSDK,omitempty"`
	// +optional
	CustomCloudConfig *AzureCustomCloudConfig `json:"customCloudConfig,omitempty"`
}

// AzureKVAuth names the Secret keys of service principal credentials.
type AzureKVAuth struct {
	// +optional
	ClientID *SecretKeySelector `json:"clientId,omitempty"`
	// +optional
	TenantID *SecretKeySelector `json:"tenantId,omitempty"`
	// +optional
	ClientSecret *SecretKeySelector `json:"clientSecret,omitempty"`
	// +optional
	ClientCertificate *SecretKeySelector `json:"clientCertificate,omitempty"`
}

// AzureCustomCloudConfig configures an Azure Stack or private cloud.
type AzureCustomCloudConfig struct {
	ActiveDirectoryEndpoint string `json:"activeDirectoryEndpoint"`
	// +optional
	KeyVaultEndpoint *string `json:"keyVaultEndpoint,omitempty"`
	// +optional
	KeyVaultDNSSuffix *string `json:"keyVaultDNSSuffix,omitempty"`
	// +optional
	ResourceManagerEndpoint *string `json:"resourceManagerEndpoint,omitempty"`
}
