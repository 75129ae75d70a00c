package v1

// GCPSMProvider configures Google Cloud Secret Manager (ESO's gcpsm). Vigil serves the
// fields so that ESO manifests apply; a store using it is not Ready until the provider is
// implemented (docs/providers.md).
type GCPSMProvider struct {
	// Auth selects the credentials.
	// +optional
	Auth GCPSMAuth `json:"auth,omitempty"`
	// ProjectID of the secrets.
	// +optional
	ProjectID string `json:"projectID,omitempty"`
	// Location for regional secrets.
	// +optional
	Location string `json:"location,omitempty"`
	// SecretVersionSelectionPolicy: LatestOrFail or LatestOrFetch.
	// +optional
	// +kubebuilder:default=LatestOrFail
	SecretVersionSelectionPolicy string `json:"secretVersionSelectionPolicy,omitempty"`
}

// GCPSMAuth selects Google Cloud credentials.
type GCPSMAuth struct {
	// +optional
	SecretRef *GCPSMAuthSecretRef `json:"secretRef,omitempty"`
	// +optional
	WorkloadIdentity *GCPWorkloadIdentity `json:"workloadIdentity,omitempty"`
	// +optional
	WorkloadIdentityFederation *GCPWorkloadIdentityFederation `json:"workloadIdentityFederation,omitempty"`
}

// GCPSMAuthSecretRef holds a service account key.
type GCPSMAuthSecretRef struct {
	// +optional
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
}

// GCPWorkloadIdentity uses GKE Workload Identity.
type GCPWorkloadIdentity struct {
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`
	// +optional
	ClusterLocation string `json:"clusterLocation,omitempty"`
	// +optional
	ClusterName string `json:"clusterName,omitempty"`
	// +optional
	ClusterProjectID string `json:"clusterProjectID,omitempty"`
}

// GCPWorkloadIdentityFederation uses Workload Identity Federation.
type GCPWorkloadIdentityFederation struct {
	// +optional
	CredConfig *ConfigMapReference `json:"credConfig,omitempty"`
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// +optional
	AwsSecurityCredentials *AwsCredentialsConfig `json:"awsSecurityCredentials,omitempty"`
	// +optional
	Audience string `json:"audience,omitempty"`
	// +optional
	ExternalTokenEndpoint string `json:"externalTokenEndpoint,omitempty"`
	// +kubebuilder:validation:Pattern:=^.*@.*\.iam\.gserviceaccount\.com$
	// +kubebuilder:validation:MinLength:=1
	// +optional
	GCPServiceAccountEmail string `json:"gcpServiceAccountEmail,omitempty"`
}

// ConfigMapReference names a ConfigMap key.
type ConfigMapReference struct {
	// +kubebuilder:validation:MinLength:=1
	// +kubebuilder:validation:MaxLength:=253
	// +kubebuilder:validation:Pattern:=^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength:=1
	// +kubebuilder:validation:MaxLength:=63
	// +kubebuilder:validation:Pattern:=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +kubebuilder:validation:MinLength:=1
	// +kubebuilder:validation:MaxLength:=253
	// +kubebuilder:validation:Pattern:=^[-._a-zA-Z0-9]+$
	Key string `json:"key"`
}

// AwsCredentialsConfig are AWS credentials for federation.
type AwsCredentialsConfig struct {
	// +kubebuilder:validation:MinLength:=1
	// +kubebuilder:validation:MaxLength:=50
	// +kubebuilder:validation:Pattern:=`^[a-z0-9-]+$`
	Region                  string           `json:"region"`
	AwsCredentialsSecretRef *SecretReference `json:"awsCredentialsSecretRef"`
}

// SecretReference names a Secret.
type SecretReference struct {
	// +kubebuilder:validation:MinLength:=1
	// +kubebuilder:validation:MaxLength:=253
	// +kubebuilder:validation:Pattern:=^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength:=1
	// +kubebuilder:validation:MaxLength:=63
	// +kubebuilder:validation:Pattern:=^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
	// +optional
	Namespace string `json:"namespace,omitempty"`
}
