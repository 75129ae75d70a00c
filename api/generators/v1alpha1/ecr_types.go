package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// ECRAuthorizationTokenSpec configures the ECR login to generate.
type ECRAuthorizationTokenSpec struct {
	// Region of the registry.
	Region string `json:"region"`
	// Auth to AWS, as in a SecretStore's aws provider; empty uses the controller's default
	// credential chain.
	// +optional
	Auth esv1.AWSAuth `json:"auth,omitempty"`
	// Role to assume before asking for the token.
	// +optional
	Role string `json:"role,omitempty"`
	// Scope: private or public registry (ESO's field; Vigil only implements private).
	// +optional
	Scope string `json:"scope,omitempty"`
}

// ECRAuthorizationToken generates an ECR registry login: the keys username, password,
// proxy_endpoint and expires_at (Unix seconds).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories={external-secrets,external-secrets-generators}
type ECRAuthorizationToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ECRAuthorizationTokenSpec `json:"spec,omitempty"`
}

// ECRAuthorizationTokenList is a list of ECRAuthorizationToken.
// +kubebuilder:object:root=true
type ECRAuthorizationTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ECRAuthorizationToken `json:"items"`
}
