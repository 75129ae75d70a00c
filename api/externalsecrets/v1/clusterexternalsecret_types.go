package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterExternalSecretSpec stamps out one ExternalSecret in each selected namespace.
type ClusterExternalSecretSpec struct {
	// ExternalSecretSpec of the ExternalSecrets to create.
	ExternalSecretSpec ExternalSecretSpec `json:"externalSecretSpec"`
	// ExternalSecretName; defaults to the ClusterExternalSecret's name.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	ExternalSecretName string `json:"externalSecretName,omitempty"`
	// ExternalSecretMetadata added to each ExternalSecret.
	// +optional
	ExternalSecretMetadata ExternalSecretMetadata `json:"externalSecretMetadata,omitempty"`
	// NamespaceSelector selects namespaces by label (deprecated in ESO in favour of
	// namespaceSelectors; honoured as one more selector).
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// NamespaceSelectors select namespaces by label.
	// +optional
	NamespaceSelectors []*metav1.LabelSelector `json:"namespaceSelectors,omitempty"`
	// Namespaces lists namespaces by name.
	// +optional
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespaces []string `json:"namespaces,omitempty"`
	// RefreshInterval between namespace re-selections.
	// +kubebuilder:default="1m"
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshTime,omitempty"`
}

// ExternalSecretMetadata is metadata for generated ExternalSecrets.
type ExternalSecretMetadata struct {
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// ClusterExternalSecretNamespaceFailure says why one namespace failed.
type ClusterExternalSecretNamespaceFailure struct {
	Namespace string `json:"namespace"`
	// +optional
	Reason string `json:"reason,omitempty"`
}

// ClusterExternalSecretStatus is the observed state of a ClusterExternalSecret.
type ClusterExternalSecretStatus struct {
	// +optional
	ExternalSecretName string `json:"externalSecretName,omitempty"`
	// +optional
	FailedNamespaces []ClusterExternalSecretNamespaceFailure `json:"failedNamespaces,omitempty"`
	// +optional
	ProvisionedNamespaces []string `json:"provisionedNamespaces,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterExternalSecret creates ExternalSecrets in many namespaces.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Cluster,shortName=ces,categories={external-secrets}
// +kubebuilder:printcolumn:name="Store",type=string,JSONPath=`.spec.externalSecretSpec.secretStoreRef.name`
// +kubebuilder:printcolumn:name="Refresh Interval",type=string,JSONPath=`.spec.refreshTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type ClusterExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterExternalSecretSpec   `json:"spec,omitempty"`
	Status ClusterExternalSecretStatus `json:"status,omitempty"`
}

// ClusterExternalSecretList is a list of ClusterExternalSecrets.
// +kubebuilder:object:root=true
type ClusterExternalSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterExternalSecret `json:"items"`
}
