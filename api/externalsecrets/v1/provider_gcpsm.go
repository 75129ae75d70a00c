package v1

// GCPSMProvider configures Google Cloud Secret Manager (ESO's gcpsm): docs/providers.md.
type GCPSMProvider struct {
	// Auth selects the credentials; with none, the controller's own Google credentials
	// (Application Default Credentials) are used, as in ESO.
	// +optional
	Auth GCPSMAuth `json:"auth,omitempty"`
	// ProjectID is the project that holds the secrets.
	// +optional
	ProjectID string `json:"projectID,omitempty"`
	// Location, when set, reads and writes regional secrets of that location
	// (projects/<id>/locations/<location>/secrets/...) through the regional endpoint
	// secretmanager.<location>.rep.googleapis.com.
	// +optional
	Location string `json:"location,omitempty"`
	// SecretVersionSelectionPolicy says what a read of the latest version (no
	// remoteRef.version) does when that version is disabled or destroyed: LatestOrFail fails,
	// LatestOrFetch reads the newest enabled version instead.
	// +optional
	// +kubebuilder:default=LatestOrFail
	SecretVersionSelectionPolicy SecretVersionSelectionPolicy `json:"secretVersionSelectionPolicy,omitempty"`
}

// SecretVersionSelectionPolicy selects the version read when "latest" cannot be read.
type SecretVersionSelectionPolicy string

const (
	// SecretVersionSelectionPolicyLatestOrFail reads "latest" and fails when it is disabled or destroyed.
	SecretVersionSelectionPolicyLatestOrFail SecretVersionSelectionPolicy = "LatestOrFail"
	// SecretVersionSelectionPolicyLatestOrFetch falls back to the newest enabled version.
	SecretVersionSelectionPolicyLatestOrFetch SecretVersionSelectionPolicy = "LatestOrFetch"
)

// GCPSMAuth selects Google Cloud credentials.
type GCPSMAuth struct {
	// SecretRef names a service-account key (JSON) in a Secret.
	// +optional
	SecretRef *GCPSMAuthSecretRef `json:"secretRef,omitempty"`
	// WorkloadIdentity uses GKE Workload Identity with a Kubernetes ServiceAccount.
	// +optional
	WorkloadIdentity *GCPWorkloadIdentity `json:"workloadIdentity,omitempty"`
	// WorkloadIdentityFederation exchanges an external token for Google credentials.
	// +optional
	WorkloadIdentityFederation *GCPWorkloadIdentityFederation `json:"workloadIdentityFederation,omitempty"`
}

// GCPSMAuthSecretRef holds a service account key.
type GCPSMAuthSecretRef struct {
	// SecretAccessKey is the key of a Secret that holds a service-account key file (JSON).
	// +optional
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
}

// GCPWorkloadIdentity uses GKE Workload Identity.
type GCPWorkloadIdentity struct {
	// ServiceAccountRef is the Kubernetes ServiceAccount whose iam.gke.io/gcp-service-account
	// annotation names the Google service account to act as.
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`
	// ClusterLocation is the location of the cluster; read from the metadata server when empty.
	// +optional
	ClusterLocation string `json:"clusterLocation,omitempty"`
	// ClusterName is the name of the cluster; read from the metadata server when empty.
	// +optional
	ClusterName string `json:"clusterName,omitempty"`
	// ClusterProjectID is the project of the cluster; read from the metadata server when empty.
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
