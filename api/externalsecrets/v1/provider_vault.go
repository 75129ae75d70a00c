package v1

// VaultKVStoreVersion is the version of a Vault KV engine.
// +kubebuilder:validation:Enum=v1;v2
type VaultKVStoreVersion string

// The KV engine versions.
const (
	VaultKVStoreV1 VaultKVStoreVersion = "v1"
	VaultKVStoreV2 VaultKVStoreVersion = "v2"
)

// VaultProvider reads from a HashiCorp Vault KV engine.
type VaultProvider struct {
	// Server address, e.g. https://vault.example:8200.
	// +kubebuilder:validation:MinLength=1
	Server string `json:"server"`
	// Path of the KV mount, e.g. "secret".
	// +optional
	Path *string `json:"path,omitempty"`
	// Version of the KV engine.
	// +kubebuilder:default=v2
	// +optional
	Version VaultKVStoreVersion `json:"version,omitempty"`
	// Namespace (Vault Enterprise).
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// CABundle to verify the server.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`
	// Auth to Vault.
	// +optional
	Auth *VaultAuth `json:"auth,omitempty"`
}

// VaultAuth selects how Vigil logs in to Vault.
type VaultAuth struct {
	// TokenSecretRef holds a Vault token.
	// +optional
	TokenSecretRef *SecretKeySelector `json:"tokenSecretRef,omitempty"`
	// +optional
	Kubernetes *VaultKubernetesAuth `json:"kubernetes,omitempty"`
	// +optional
	AppRole *VaultAppRole `json:"appRole,omitempty"`
}

// VaultKubernetesAuth logs in with a ServiceAccount token.
type VaultKubernetesAuth struct {
	// +kubebuilder:default=kubernetes
	// +optional
	Path string `json:"mountPath,omitempty"`
	Role string `json:"role"`
	// ServiceAccountRef is the ServiceAccount a token is minted for (TokenRequest API) and
	// sent to Vault, which reviews it with the API server.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// SecretRef holds a ServiceAccount token to send instead of minting one.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultAppRole logs in with a role id and a secret id.
type VaultAppRole struct {
	// +kubebuilder:default=approle
	// +optional
	Path string `json:"path,omitempty"`
	// RoleID of the AppRole; or RoleRef.
	// +optional
	RoleID string `json:"roleId,omitempty"`
	// RoleRef reads the role id from a Secret.
	// +optional
	RoleRef *SecretKeySelector `json:"roleRef,omitempty"`
	// SecretRef holds the secret id.
	SecretRef SecretKeySelector `json:"secretRef"`
}
