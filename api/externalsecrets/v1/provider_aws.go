package v1

// AWSServiceType names the AWS service a store reads from.
// +kubebuilder:validation:Enum=SecretsManager;ParameterStore
type AWSServiceType string

const (
	AWSServiceSecretsManager AWSServiceType = "SecretsManager"
	AWSServiceParameterStore AWSServiceType = "ParameterStore"
)

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
	// +kubebuilder:validation:MinLength=1
	Region string `json:"region"`
	// Role ARN to assume on top of the credentials.
	// +kubebuilder:validation:Pattern=`^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/.+$`
	// +optional
	Role string `json:"role,omitempty"`
	// ExternalID passed when assuming Role.
	// +optional
	ExternalID string `json:"externalID,omitempty"`
	// Prefix prepended to every remote key.
	// +optional
	Prefix string `json:"prefix,omitempty"`
}

// AWSAuth selects AWS credentials; at most one of secretRef and jwt.
// +kubebuilder:validation:XValidation:rule="!(has(self.secretRef) && has(self.jwt))",message="auth.secretRef and auth.jwt are alternatives: set one of them (or neither for the default credential chain)"
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
	AccessKeyID     SecretKeySelector `json:"accessKeyIDSecretRef"`
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef"`
	// +optional
	SessionToken *SecretKeySelector `json:"sessionTokenSecretRef,omitempty"`
}

// AWSJWTAuth authenticates as the role in a ServiceAccount's eks.amazonaws.com/role-arn
// annotation, with a token minted for that ServiceAccount.
type AWSJWTAuth struct {
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}
