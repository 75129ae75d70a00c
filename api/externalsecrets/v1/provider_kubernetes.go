package v1

// KubernetesProvider reads Secrets from a namespace of this or another cluster.
type KubernetesProvider struct {
	// Server to connect to; empty means this cluster.
	// +optional
	Server KubernetesServer `json:"server,omitempty"`
	// Auth to the server.
	// +optional
	Auth *KubernetesAuth `json:"auth,omitempty"`
	// AuthRef reads a kubeconfig from a Secret key.
	// +optional
	AuthRef *SecretKeySelector `json:"authRef,omitempty"`
	// RemoteNamespace to read Secrets from.
	// +kubebuilder:default=default
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
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
	// CAProvider reads the server's CA from a Secret or ConfigMap.
	// +optional
	CAProvider *CAProvider `json:"caProvider,omitempty"`
}

// KubernetesAuth selects credentials for a remote API server (exactly one of them).
// +kubebuilder:validation:MaxProperties=1
// +kubebuilder:validation:MinProperties=1
type KubernetesAuth struct {
	// Cert is a client certificate and key.
	// +optional
	Cert *CertAuth `json:"cert,omitempty"`
	// +optional
	Token *TokenAuth `json:"token,omitempty"`
	// +optional
	ServiceAccount *ServiceAccountSelector `json:"serviceAccount,omitempty"`
}

// TokenAuth reads a bearer token from a Secret.
type TokenAuth struct {
	BearerToken SecretKeySelector `json:"bearerToken"`
}

// CertAuth names the Secret keys of a client certificate and key.
type CertAuth struct {
	ClientCert SecretKeySelector `json:"clientCert"`
	ClientKey  SecretKeySelector `json:"clientKey"`
}
