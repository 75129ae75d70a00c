package v1

// VaultKVStoreVersion is the version of a Vault KV engine.
// +kubebuilder:validation:Enum=v1;v2
type VaultKVStoreVersion string

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
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}

// VaultAppRole logs in with a role id and a secret id.
type VaultAppRole struct {
	// +kubebuilder:default=approle
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	RoleID    string            `json:"roleId,omitempty"`
	SecretRef SecretKeySelector `json:"secretRef"`
}
