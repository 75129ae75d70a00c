package v1

// SecretKeySelector names one key of a Secret. Namespace is only honoured for
// ClusterSecretStores; a namespaced store always reads from its own namespace.
type SecretKeySelector struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of the Secret; only used by ClusterSecretStores.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// Key within the Secret's data.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// ServiceAccountSelector names a ServiceAccount whose token a provider uses.
type ServiceAccountSelector struct {
	// Name of the ServiceAccount.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of the ServiceAccount; only used by ClusterSecretStores.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// Audiences of the minted token, in addition to the provider's default audience.
	// +optional
	Audiences []string `json:"audiences,omitempty"`
}
