package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PolicyAction is what a violation causes: Deny (reject at admission, block at reconcile),
// Warn (admission warning, report) or Audit (report only).
// +kubebuilder:validation:Enum=Deny;Warn;Audit
type PolicyAction string

// BuiltinRule configures one rule of the built-in library.
type BuiltinRule struct {
	// ID of the built-in rule, e.g. aws-wildcard-secret-resource.
	// +kubebuilder:validation:MinLength=1
	ID string `json:"id"`
	// Enabled turns the rule on or off; rules are on unless a policy turns them off.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// Action overrides the rule's default action.
	// +optional
	Action PolicyAction `json:"action,omitempty"`
	// Parameters of the rule (see its documentation), e.g. {"min": "5m", "max": "12h"}.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	Parameters *apiextensionsv1.JSON `json:"parameters,omitempty"`
}

// RegoRule is a custom Rego module: package vigil.custom.<name>, with a `violation` set of
// {message, path} objects.
type RegoRule struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Module string `json:"module"`
	// +kubebuilder:default=Deny
	// +optional
	Action PolicyAction `json:"action,omitempty"`
}

// CELRule is a custom CEL validation over the variable `input`: the expression is true for
// objects that pass.
type CELRule struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Expression string `json:"expression"`
	// +kubebuilder:validation:MinLength=1
	Message string `json:"message"`
	// +kubebuilder:default=Deny
	// +optional
	Action PolicyAction `json:"action,omitempty"`
}

// PolicyMatch selects the objects a policy's custom rules apply to.
type PolicyMatch struct {
	// Kinds: SecretStore, ClusterSecretStore, ExternalSecret, ClusterExternalSecret,
	// PushSecret, and the generator kinds (Password, ECRAuthorizationToken,
	// VaultDynamicSecret); empty matches all.
	// +optional
	Kinds []string `json:"kinds,omitempty"`
	// NamespaceSelector selects namespaces by label (cluster-scoped objects always match).
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// ExcludedNamespaces are never checked by this policy.
	// +optional
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
}

// ClusterSecretPolicySpec configures the built-in rules and adds custom ones.
type ClusterSecretPolicySpec struct {
	// +optional
	Match PolicyMatch `json:"match,omitempty"`
	// +optional
	Rules []BuiltinRule `json:"rules,omitempty"`
	// +optional
	Rego []RegoRule `json:"rego,omitempty"`
	// +optional
	Validations []CELRule `json:"validations,omitempty"`
	// DeletionProtection makes deletion protection the default for the ExternalSecrets in
	// the namespaces spec.match selects (docs/deletion-protection.md).
	// +optional
	DeletionProtection *DeletionProtection `json:"deletionProtection,omitempty"`
}

// DeletionProtectionOptOut says whose annotation vigil.dev/deletion-protection: "false"
// lifts a policy's deletion protection: None (nobody's: only the policy's owner lifts it,
// by changing the policy), Namespace (the namespace's), ExternalSecret (the namespace's or
// the ExternalSecret's own, so any tenant who may edit it).
// +kubebuilder:validation:Enum=None;Namespace;ExternalSecret
type DeletionProtectionOptOut string

// The opt-outs a policy may allow, from none to the tenant's own.
const (
	OptOutNone           DeletionProtectionOptOut = "None"
	OptOutNamespace      DeletionProtectionOptOut = "Namespace"
	OptOutExternalSecret DeletionProtectionOptOut = "ExternalSecret"
)

// DeletionProtection protects ExternalSecrets by default: the webhook refuses to delete
// them, and the Secret of one that goes anyway is kept (orphaned and labelled).
type DeletionProtection struct {
	// Enabled turns the protection on for the selected namespaces.
	Enabled bool `json:"enabled"`
	// AllowOptOut says whose "false" annotation lifts this policy's protection.
	// +kubebuilder:default=None
	// +optional
	AllowOptOut DeletionProtectionOptOut `json:"allowOptOut,omitempty"`
}

// ClusterSecretPolicyStatus is the observed state of a policy.
type ClusterSecretPolicyStatus struct {
	// Violations is how many objects this policy currently flags.
	// +optional
	Violations int `json:"violations"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterSecretPolicy holds Vigil to least privilege: it configures the built-in rules and
// carries custom Rego modules and CEL validations.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=csp,categories={vigil}
// +kubebuilder:printcolumn:name="Violations",type=integer,JSONPath=`.status.violations`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterSecretPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterSecretPolicySpec   `json:"spec,omitempty"`
	Status ClusterSecretPolicyStatus `json:"status,omitempty"`
}

// ClusterSecretPolicyList is a list of ClusterSecretPolicies.
// +kubebuilder:object:root=true
type ClusterSecretPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterSecretPolicy `json:"items"`
}
