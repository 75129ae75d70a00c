package v1

// KubernetesProvider reads Secrets from a namespace of this or another cluster.
type KubernetesProvider struct {
	// Server to connect to; empty means this cluster.
	// +optional
	Server KubernetesServer `json:"server,omitempty"`
	// Auth to the server.
	// +optional
	Auth *KubernetesAuth `json:"auth,omitempty"`
	// RemoteNamespace to read Secrets from.
	// +kubebuilder:default=default
	// +optional
	RemoteNamespace string `json:"remoteNamespace,omitempty"`
}

// KubernetesServer is a remote API server.
type KubernetesServer struct {
	// +kubebuilder:default="kubernetes.default"
	// +optional
	URL string `json:"url,omitempty"`
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`
}

// KubernetesAuth selects credentials for a remote API server.
type KubernetesAuth struct {
	// +optional
	Token *TokenAuth `json:"token,omitempty"`
	// +optional
	ServiceAccount *ServiceAccountSelector `json:"serviceAccount,omitempty"`
}

// TokenAuth reads a bearer token from a Secret.
type TokenAuth struct {
	BearerToken SecretKeySelector `json:"bearerToken"`
}
