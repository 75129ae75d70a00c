package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// SecretStoreSpec is the desired state of a SecretStore or ClusterSecretStore.
type SecretStoreSpec struct {
	// Controller selects which controller instance handles the store ("" is the default one).
	// +optional
	Controller string `json:"controller,omitempty"`
	// Provider configures the backend; exactly one provider must be set.
	Provider *SecretStoreProvider `json:"provider"`
	// RetrySettings for provider calls.
	// +optional
	RetrySettings *SecretStoreRetrySettings `json:"retrySettings,omitempty"`
	// RefreshInterval between re-validations of the store: a number of seconds (ESO's
	// legacy form) or a duration such as "1h"; unset or 0 validates only on change.
	// +optional
	RefreshInterval *intstr.IntOrString `json:"refreshInterval,omitempty"`
	// Conditions restrict which namespaces may use a ClusterSecretStore. A namespace may use
	// the store when any condition selects it. Ignored on a SecretStore.
	// +optional
	Conditions []ClusterSecretStoreCondition `json:"conditions,omitempty"`
}

// SecretStoreProvider holds the configuration of exactly one provider. Each provider's
// configuration lives in its own file and type.
// +kubebuilder:validation:MaxProperties=1
// +kubebuilder:validation:MinProperties=1
type SecretStoreProvider struct {
	// AWS Secrets Manager or Parameter Store.
	// +optional
	AWS *AWSProvider `json:"aws,omitempty"`
	// Fake serves an inline list of values, for demos and tests.
	// +optional
	Fake *FakeProvider `json:"fake,omitempty"`
	// Kubernetes reads Secrets of another namespace or cluster.
	// +optional
	Kubernetes *KubernetesProvider `json:"kubernetes,omitempty"`
	// Vault (HashiCorp) KV engines.
	// +optional
	Vault *VaultProvider `json:"vault,omitempty"`
	// GCPSM is Google Cloud Secret Manager (not implemented yet).
	// +optional
	GCPSM *GCPSMProvider `json:"gcpsm,omitempty"`
	// AzureKV is Azure Key Vault.
	// +optional
	AzureKV *AzureKVProvider `json:"azurekv,omitempty"`
	// OtherProviders are ESO's other providers, accepted but not implemented.
	OtherProviders `json:",inline"`
}

// Name returns the name of the configured provider, as the provider registry knows it, or
// "" when none is set.
func (p *SecretStoreProvider) Name() string {
	switch {
	case p == nil:
		return ""
	case p.AWS != nil:
		return "aws"
	case p.Fake != nil:
		return "fake"
	case p.Kubernetes != nil:
		return "kubernetes"
	case p.Vault != nil:
		return "vault"
	case p.GCPSM != nil:
		return "gcpsm"
	case p.AzureKV != nil:
		return "azurekv"
	}
	if names := p.set(); len(names) > 0 {
		return names[0]
	}
	return ""
}

// SecretStoreRetrySettings bound retries of provider calls.
type SecretStoreRetrySettings struct {
	// +optional
	MaxRetries *int32 `json:"maxRetries,omitempty"`
	// +optional
	RetryInterval *string `json:"retryInterval,omitempty"`
}

// ClusterSecretStoreCondition selects namespaces that may use a ClusterSecretStore.
type ClusterSecretStoreCondition struct {
	// NamespaceSelector selects namespaces by label.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// Namespaces lists namespaces by name.
	// +optional
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespaces []string `json:"namespaces,omitempty"`
	// NamespaceRegexes match namespace names.
	// +optional
	NamespaceRegexes []string `json:"namespaceRegexes,omitempty"`
}

// SecretStoreCapabilities says what a store can do.
type SecretStoreCapabilities string

const (
	SecretStoreReadOnly  SecretStoreCapabilities = "ReadOnly"
	SecretStoreWriteOnly SecretStoreCapabilities = "WriteOnly"
	SecretStoreReadWrite SecretStoreCapabilities = "ReadWrite"
)

// SecretStoreStatus is the observed state of a store.
type SecretStoreStatus struct {
	// Conditions; Ready says whether the provider configuration is valid and reachable.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Capabilities of the store.
	// +optional
	Capabilities SecretStoreCapabilities `json:"capabilities,omitempty"`
}

// SecretStore configures access to a backend for ExternalSecrets of its namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Namespaced,shortName=ss,categories={external-secrets}
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Capabilities",type=string,JSONPath=`.status.capabilities`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type SecretStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SecretStoreSpec   `json:"spec,omitempty"`
	Status SecretStoreStatus `json:"status,omitempty"`
}

// SecretStoreList is a list of SecretStores.
// +kubebuilder:object:root=true
type SecretStoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SecretStore `json:"items"`
}

// ClusterSecretStore is a store that ExternalSecrets of any namespace its conditions select
// may use.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Cluster,shortName=css,categories={external-secrets}
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Capabilities",type=string,JSONPath=`.status.capabilities`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type ClusterSecretStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SecretStoreSpec   `json:"spec,omitempty"`
	Status SecretStoreStatus `json:"status,omitempty"`
}

// ClusterSecretStoreList is a list of ClusterSecretStores.
// +kubebuilder:object:root=true
type ClusterSecretStoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterSecretStore `json:"items"`
}

// GenericStore is what SecretStore and ClusterSecretStore have in common, so that one
// reconciler and every provider handle both.
// +kubebuilder:object:generate=false
type GenericStore interface {
	runtime.Object
	metav1.Object
	GetKind() string
	GetSpec() *SecretStoreSpec
	GetStatus() *SecretStoreStatus
}

// Kind names used in secretStoreRef.kind.
const (
	SecretStoreKind        = "SecretStore"
	ClusterSecretStoreKind = "ClusterSecretStore"
)

func (s *SecretStore) GetKind() string                  { return SecretStoreKind }
func (s *SecretStore) GetSpec() *SecretStoreSpec        { return &s.Spec }
func (s *SecretStore) GetStatus() *SecretStoreStatus    { return &s.Status }
func (s *ClusterSecretStore) GetKind() string           { return ClusterSecretStoreKind }
func (s *ClusterSecretStore) GetSpec() *SecretStoreSpec { return &s.Spec }
func (s *ClusterSecretStore) GetStatus() *SecretStoreStatus {
	return &s.Status
}
