package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterGeneratorSpec wraps the spec of one generator kind, for use from any namespace.
type ClusterGeneratorSpec struct {
	// Kind of the wrapped generator.
	// +kubebuilder:validation:Enum=ACRAccessToken;BeyondtrustWorkloadCredentialsDynamicSecret;CloudsmithAccessToken;ECRAuthorizationToken;Fake;GCRAccessToken;GithubAccessToken;GitlabDeployToken;QuayAccessToken;Password;SSHKey;STSSessionToken;UUID;VaultDynamicSecret;Webhook;Grafana;MFA
	Kind string `json:"kind"`
	// Generator holds the spec of that kind.
	Generator GeneratorSpec `json:"generator"`
}

// GeneratorSpec holds exactly one generator spec. Vigil implements Password,
// ECRAuthorizationToken and VaultDynamicSecret; the others are accepted as free-form
// objects (ESO's API) and refused when used (docs/providers.md).
// +kubebuilder:validation:MaxProperties=1
// +kubebuilder:validation:MinProperties=1
type GeneratorSpec struct {
	// +optional
	PasswordSpec *PasswordSpec `json:"passwordSpec,omitempty"`
	// +optional
	ECRAuthorizationTokenSpec *ECRAuthorizationTokenSpec `json:"ecrAuthorizationTokenSpec,omitempty"`
	// +optional
	VaultDynamicSecretSpec *VaultDynamicSecretSpec `json:"vaultDynamicSecretSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	ACRAccessTokenSpec *apiextensionsv1.JSON `json:"acrAccessTokenSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	BeyondtrustWorkloadCredentialsDynamicSecretSpec *apiextensionsv1.JSON `json:"beyondtrustWorkloadCredentialsDynamicSecretSpec,omitempty"` //nolint:lll // ESO's name
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	CloudsmithAccessTokenSpec *apiextensionsv1.JSON `json:"cloudsmithAccessTokenSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	FakeSpec *apiextensionsv1.JSON `json:"fakeSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	GCRAccessTokenSpec *apiextensionsv1.JSON `json:"gcrAccessTokenSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	GithubAccessTokenSpec *apiextensionsv1.JSON `json:"githubAccessTokenSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	GitlabDeployTokenSpec *apiextensionsv1.JSON `json:"gitlabDeployTokenSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	QuayAccessTokenSpec *apiextensionsv1.JSON `json:"quayAccessTokenSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	SSHKeySpec *apiextensionsv1.JSON `json:"sshKeySpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	STSSessionTokenSpec *apiextensionsv1.JSON `json:"stsSessionTokenSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	UUIDSpec *apiextensionsv1.JSON `json:"uuidSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	WebhookSpec *apiextensionsv1.JSON `json:"webhookSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	GrafanaSpec *apiextensionsv1.JSON `json:"grafanaSpec,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	MFASpec *apiextensionsv1.JSON `json:"mfaSpec,omitempty"`
}

// ClusterGenerator is a cluster-wide generator that ExternalSecrets of any namespace may
// reference (sourceRef.generatorRef.kind ClusterGenerator).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories={external-secrets,external-secrets-generators}
type ClusterGenerator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ClusterGeneratorSpec `json:"spec,omitempty"`
}

// ClusterGeneratorList is a list of ClusterGenerator.
// +kubebuilder:object:root=true
type ClusterGeneratorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterGenerator `json:"items"`
}
