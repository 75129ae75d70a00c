package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The generator kinds below are ESO's that Vigil does not implement (docs/providers.md).
// They are served so that an ESO manifest applies unchanged: their spec is a free-form
// object here, and hack/eso-schemas writes ESO's own schema for it into the CRD, so the
// API server validates every field as ESO's CRD does. An ExternalSecret that uses one of
// them is refused by name at sync (controllers/externalsecret), never silently ignored.

// ACRAccessToken is ESO's ACRAccessToken generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=acraccesstokens,categories={external-secrets,external-secrets-generators}
type ACRAccessToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's ACRAccessToken spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// ACRAccessTokenList is a list of ACRAccessToken.
// +kubebuilder:object:root=true
type ACRAccessTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ACRAccessToken `json:"items"`
}

// BeyondtrustWorkloadCredentialsDynamicSecret is ESO's generator of that name: served, not
// implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=beyondtrustworkloadcredentialsdynamicsecrets,categories={external-secrets,external-secrets-generators}
type BeyondtrustWorkloadCredentialsDynamicSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's BeyondtrustWorkloadCredentialsDynamicSecret spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// BeyondtrustWorkloadCredentialsDynamicSecretList is a list of BeyondtrustWorkloadCredentialsDynamicSecret.
// +kubebuilder:object:root=true
type BeyondtrustWorkloadCredentialsDynamicSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BeyondtrustWorkloadCredentialsDynamicSecret `json:"items"`
}

// CloudsmithAccessToken is ESO's CloudsmithAccessToken generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=cloudsmithaccesstokens,categories={external-secrets,external-secrets-generators}
type CloudsmithAccessToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's CloudsmithAccessToken spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// CloudsmithAccessTokenList is a list of CloudsmithAccessToken.
// +kubebuilder:object:root=true
type CloudsmithAccessTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CloudsmithAccessToken `json:"items"`
}

// Fake is ESO's Fake generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=fakes,categories={external-secrets,external-secrets-generators}
type Fake struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's Fake spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// FakeList is a list of Fake.
// +kubebuilder:object:root=true
type FakeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Fake `json:"items"`
}

// GCRAccessToken is ESO's GCRAccessToken generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=gcraccesstokens,categories={external-secrets,external-secrets-generators}
type GCRAccessToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's GCRAccessToken spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// GCRAccessTokenList is a list of GCRAccessToken.
// +kubebuilder:object:root=true
type GCRAccessTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GCRAccessToken `json:"items"`
}

// GithubAccessToken is ESO's GithubAccessToken generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=githubaccesstokens,categories={external-secrets,external-secrets-generators}
type GithubAccessToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's GithubAccessToken spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// GithubAccessTokenList is a list of GithubAccessToken.
// +kubebuilder:object:root=true
type GithubAccessTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GithubAccessToken `json:"items"`
}

// GitlabDeployToken is ESO's GitlabDeployToken generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=gitlabdeploytokens,categories={external-secrets,external-secrets-generators}
type GitlabDeployToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's GitlabDeployToken spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// GitlabDeployTokenList is a list of GitlabDeployToken.
// +kubebuilder:object:root=true
type GitlabDeployTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GitlabDeployToken `json:"items"`
}

// Grafana is ESO's Grafana generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=grafanas,categories={external-secrets,external-secrets-generators}
type Grafana struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's Grafana spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// GrafanaList is a list of Grafana.
// +kubebuilder:object:root=true
type GrafanaList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Grafana `json:"items"`
}

// MFA is ESO's MFA generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=mfas,categories={external-secrets,external-secrets-generators}
type MFA struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's MFA spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// MFAList is a list of MFA.
// +kubebuilder:object:root=true
type MFAList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MFA `json:"items"`
}

// QuayAccessToken is ESO's QuayAccessToken generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=quayaccesstokens,categories={external-secrets,external-secrets-generators}
type QuayAccessToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's QuayAccessToken spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// QuayAccessTokenList is a list of QuayAccessToken.
// +kubebuilder:object:root=true
type QuayAccessTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []QuayAccessToken `json:"items"`
}

// SSHKey is ESO's SSHKey generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=sshkeys,categories={external-secrets,external-secrets-generators}
type SSHKey struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's SSHKey spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// SSHKeyList is a list of SSHKey.
// +kubebuilder:object:root=true
type SSHKeyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SSHKey `json:"items"`
}

// STSSessionToken is ESO's STSSessionToken generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=stssessiontokens,categories={external-secrets,external-secrets-generators}
type STSSessionToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's STSSessionToken spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// STSSessionTokenList is a list of STSSessionToken.
// +kubebuilder:object:root=true
type STSSessionTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []STSSessionToken `json:"items"`
}

// UUID is ESO's UUID generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=uuids,categories={external-secrets,external-secrets-generators}
type UUID struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's UUID spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// UUIDList is a list of UUID.
// +kubebuilder:object:root=true
type UUIDList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UUID `json:"items"`
}

// Webhook is ESO's Webhook generator: served, not implemented by Vigil.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=webhooks,categories={external-secrets,external-secrets-generators}
type Webhook struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's Webhook spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
}

// WebhookList is a list of Webhook.
// +kubebuilder:object:root=true
type WebhookList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Webhook `json:"items"`
}

// GeneratorState is ESO's record of a generated value that is still to be cleaned up
// (ESO's generator garbage collection). Vigil serves the kind so that ESO manifests and
// backups apply; Vigil writes none (its generators keep no state to collect).
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=generatorstates,shortName=gs,categories={external-secrets,external-secrets-generators}
// +kubebuilder:printcolumn:name="GC Deadline",type=string,JSONPath=`.spec.garbageCollectionDeadline`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GeneratorState struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is ESO's GeneratorState spec (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *apiextensionsv1.JSON `json:"spec,omitempty"`
	// Status is ESO's GeneratorState status (schema from ESO's CRD).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Status *apiextensionsv1.JSON `json:"status,omitempty"`
}

// GeneratorStateList is a list of GeneratorState.
// +kubebuilder:object:root=true
type GeneratorStateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GeneratorState `json:"items"`
}

// otherKinds are the generator kinds Vigil serves but does not implement, for AddToScheme.
func otherKinds() []runtime.Object {
	return []runtime.Object{
		&ACRAccessToken{}, &ACRAccessTokenList{},
		&BeyondtrustWorkloadCredentialsDynamicSecret{}, &BeyondtrustWorkloadCredentialsDynamicSecretList{},
		&CloudsmithAccessToken{}, &CloudsmithAccessTokenList{},
		&Fake{}, &FakeList{},
		&GCRAccessToken{}, &GCRAccessTokenList{},
		&GithubAccessToken{}, &GithubAccessTokenList{},
		&GitlabDeployToken{}, &GitlabDeployTokenList{},
		&Grafana{}, &GrafanaList{},
		&MFA{}, &MFAList{},
		&QuayAccessToken{}, &QuayAccessTokenList{},
		&SSHKey{}, &SSHKeyList{},
		&STSSessionToken{}, &STSSessionTokenList{},
		&UUID{}, &UUIDList{},
		&Webhook{}, &WebhookList{},
		&GeneratorState{}, &GeneratorStateList{},
	}
}
