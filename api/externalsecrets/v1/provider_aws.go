package v1

// AWSServiceType names the AWS service a store reads from.
// +kubebuilder:validation:Enum=SecretsManager;ParameterStore;CertificateManager
type AWSServiceType string

// CertificateManager is accepted (ESO's API) but not implemented: such a store is not Ready.
const (
	AWSServiceSecretsManager     AWSServiceType = "SecretsManager"
	AWSServiceParameterStore     AWSServiceType = "ParameterStore"
	AWSServiceCertificateManager AWSServiceType = "CertificateManager"
)

// SessionTagsPolicy says which session tags ESO adds when assuming a role.
// +kubebuilder:validation:Enum=None;Simple;Custom
type SessionTagsPolicy string

// AWSSecretsManager configures Secrets Manager writes and deletes (PushSecret).
type AWSSecretsManager struct {
	// ForceDeleteWithoutRecovery deletes without a recovery window.
	// +optional
	ForceDeleteWithoutRecovery bool `json:"forceDeleteWithoutRecovery,omitempty"`
	// RecoveryWindowInDays before a deleted secret is gone.
	// +optional
	RecoveryWindowInDays int64 `json:"recoveryWindowInDays,omitempty"`
}

// AWSTag is a session tag.
type AWSTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AWSProvider reads from AWS Secrets Manager or Parameter Store. Credentials come from, in
// order: auth.secretRef (static keys), auth.jwt (IRSA: a ServiceAccount token exchanged
// through STS AssumeRoleWithWebIdentity), else the controller's default credential chain;
// then role (with externalID) is assumed on top when set.
type AWSProvider struct {
	// Service to read from.
	Service AWSServiceType `json:"service"`
	// Auth selects the credentials.
	// +optional
	Auth AWSAuth `json:"auth,omitempty"`
	// Region of the service, e.g. us-east-1.
	Region string `json:"region"`
	// Role ARN to assume on top of the credentials.
	// +optional
	Role string `json:"role,omitempty"`
	// ExternalID passed when assuming Role.
	// +optional
	ExternalID string `json:"externalID,omitempty"`
	// Prefix prepended to every remote key.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// AdditionalRoles are assumed in a chain before Role.
	// +optional
	AdditionalRoles []string `json:"additionalRoles,omitempty"`
	// SessionTags are set when assuming Role.
	// +optional
	SessionTags []*AWSTag `json:"sessionTags,omitempty"`
	// SecretsManager configures writes and deletes.
	// +optional
	SecretsManager *AWSSecretsManager `json:"secretsManager,omitempty"`
	// TransitiveTagKeys are session tags passed on in a role chain.
	// +optional
	TransitiveTagKeys []string `json:"transitiveTagKeys,omitempty"`
	// SessionTagsPolicy: None, Simple or Custom.
	// +optional
	// +kubebuilder:default=None
	SessionTagsPolicy SessionTagsPolicy `json:"sessionTagsPolicy,omitempty"`
	// CustomSessionTags for sessionTagsPolicy Custom.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!('esoNamespace' in self) && !('esoStoreName' in self) && !('esoStoreKind' in self)",message="customSessionTags cannot contain automatically injected reserved keys: esoNamespace, esoStoreName, esoStoreKind"
	CustomSessionTags map[string]string `json:"customSessionTags,omitempty"`
}

// AWSAuth selects AWS credentials. With both secretRef and jwt set, secretRef wins (as in
// ESO, which accepts both); the admission webhook warns about it.
type AWSAuth struct {
	// SecretRef reads static access keys from a Secret.
	// +optional
	SecretRef *AWSAuthSecretRef `json:"secretRef,omitempty"`
	// JWT exchanges a ServiceAccount token for role credentials (IRSA).
	// +optional
	JWTAuth *AWSJWTAuth `json:"jwt,omitempty"`
}

// AWSAuthSecretRef names the Secret keys that hold static credentials.
type AWSAuthSecretRef struct {
	// +optional
	AccessKeyID SecretKeySelector `json:"accessKeyIDSecretRef,omitempty"`
	// +optional
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
	// +optional
	SessionToken *SecretKeySelector `json:"sessionTokenSecretRef,omitempty"`
}

// AWSJWTAuth authenticates as the role in a ServiceAccount's eks.amazonaws.com/role-arn
// annotation, with a token minted for that ServiceAccount.
type AWSJWTAuth struct {
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}
