package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// VaultDynamicSecretResultType selects the part of Vault's response that becomes the data.
// +kubebuilder:validation:Enum=Data;Auth;Raw
type VaultDynamicSecretResultType string

// The result types.
const (
	VaultResultData VaultDynamicSecretResultType = "Data"
	VaultResultAuth VaultDynamicSecretResultType = "Auth"
	VaultResultRaw  VaultDynamicSecretResultType = "Raw"
)

// VaultDynamicSecretSpec configures the Vault request that issues the secret.
type VaultDynamicSecretSpec struct {
	// Provider says how to reach and log in to Vault (a SecretStore's vault provider; its
	// path and version are not used).
	Provider *esv1.VaultProvider `json:"provider"`
	// Controller selects which controller instance handles the generator.
	// +optional
	Controller string `json:"controller,omitempty"`
	// GetParameters are query parameters of GET calls.
	// +optional
	GetParameters map[string][]string `json:"getParameters,omitempty"`
	// RetrySettings for calls to Vault.
	// +optional
	RetrySettings *esv1.SecretStoreRetrySettings `json:"retrySettings,omitempty"`
	// Path of the request, e.g. database/creds/app.
	Path string `json:"path"`
	// Method of the request: GET (or unset) reads, any other method writes (as in ESO).
	// +optional
	Method string `json:"method,omitempty"`
	// Parameters sent with a POST or PUT.
	// +optional
	Parameters *apiextensionsv1.JSON `json:"parameters,omitempty"`
	// ResultType: Data (the response's data, default), Auth (its auth block) or Raw (the
	// whole response).
	// +kubebuilder:default=Data
	// +optional
	ResultType VaultDynamicSecretResultType `json:"resultType,omitempty"`
	// AllowEmptyResponse accepts a response without data.
	// +kubebuilder:default=false
	// +optional
	AllowEmptyResponse bool `json:"allowEmptyResponse,omitempty"`
}

// VaultDynamicSecret generates a secret that Vault issues on request, such as short-lived
// database credentials from the database secrets engine. Each sync asks for a new one.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories={external-secrets,external-secrets-generators}
type VaultDynamicSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VaultDynamicSecretSpec `json:"spec,omitempty"`
}

// VaultDynamicSecretList is a list of VaultDynamicSecret.
// +kubebuilder:object:root=true
type VaultDynamicSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VaultDynamicSecret `json:"items"`
}
