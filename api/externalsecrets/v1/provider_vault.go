package v1

// VaultKVStoreVersion is the version of a Vault KV engine.
// +kubebuilder:validation:Enum=v1;v2
type VaultKVStoreVersion string

// The KV engine versions.
const (
	VaultKVStoreV1 VaultKVStoreVersion = "v1"
	VaultKVStoreV2 VaultKVStoreVersion = "v2"
)

// VaultProvider reads from a HashiCorp Vault KV engine.
type VaultProvider struct {
	// Server address, e.g. https://vault.example:8200.
	Server string `json:"server"`
	// Path of the KV mount, e.g. "secret".
	// +optional
	Path *string `json:"path,omitempty"`
	// Version of the KV engine.
	// +kubebuilder:default=v2
	// +optional
	Version VaultKVStoreVersion `json:"version,omitempty"`
	// Namespace (Vault Enterprise).
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// CABundle to verify the server.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`
	// Auth to Vault.
	// +optional
	Auth *VaultAuth `json:"auth,omitempty"`
	// ClientTLS is the client certificate sent to Vault (mutual TLS).
	// +optional
	ClientTLS VaultClientTLS `json:"tls,omitempty"`
	// CAProvider reads the CA that verifies the server from a Secret or ConfigMap.
	// +optional
	CAProvider *CAProvider `json:"caProvider,omitempty"`
	// ReadYourWrites asks Vault Enterprise performance standbys for read-after-write
	// consistency.
	// +optional
	ReadYourWrites bool `json:"readYourWrites,omitempty"`
	// ForwardInconsistent forwards reads to the active node when a standby is behind.
	// +optional
	ForwardInconsistent bool `json:"forwardInconsistent,omitempty"`
	// Headers added to every request to Vault.
	// +optional
	Headers map[string]string `json:"headers,omitempty"`
	// CheckAndSet configures KV v2 check-and-set writes (PushSecret).
	// +optional
	CheckAndSet *VaultCheckAndSet `json:"checkAndSet,omitempty"`
}

// VaultClientTLS names the Secret keys of a client certificate and key.
type VaultClientTLS struct {
	// CertSecretRef holds the client certificate (tls.crt by default).
	// +optional
	CertSecretRef *SecretKeySelector `json:"certSecretRef,omitempty"`
	// KeySecretRef holds the client key (tls.key by default).
	// +optional
	KeySecretRef *SecretKeySelector `json:"keySecretRef,omitempty"`
}

// VaultCheckAndSet configures check-and-set writes of KV v2.
type VaultCheckAndSet struct {
	// Required makes every write use check-and-set.
	// +optional
	Required bool `json:"required,omitempty"`
}

// VaultAuth selects how Vigil logs in to Vault.
type VaultAuth struct {
	// TokenSecretRef holds a Vault token.
	// +optional
	TokenSecretRef *SecretKeySelector `json:"tokenSecretRef,omitempty"`
	// +optional
	Kubernetes *VaultKubernetesAuth `json:"kubernetes,omitempty"`
	// +optional
	AppRole *VaultAppRole `json:"appRole,omitempty"`
	// Namespace to log in to (Vault Enterprise), when it differs from the store's namespace.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// +optional
	Ldap *VaultLdapAuth `json:"ldap,omitempty"`
	// +optional
	Jwt *VaultJwtAuth `json:"jwt,omitempty"`
	// +optional
	Cert *VaultCertAuth `json:"cert,omitempty"`
	// +optional
	Iam *VaultIamAuth `json:"iam,omitempty"`
	// +optional
	UserPass *VaultUserPassAuth `json:"userPass,omitempty"`
	// +optional
	GCP *VaultGCPAuth `json:"gcp,omitempty"`
}

// VaultKubernetesAuth logs in with a ServiceAccount token.
type VaultKubernetesAuth struct {
	// +kubebuilder:default=kubernetes
	// +optional
	Path string `json:"mountPath,omitempty"`
	Role string `json:"role"`
	// ServiceAccountRef is the ServiceAccount a token is minted for (TokenRequest API) and
	// sent to Vault, which reviews it with the API server.
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
	// SecretRef holds a ServiceAccount token to send instead of minting one.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultAppRole logs in with a role id and a secret id.
type VaultAppRole struct {
	// +kubebuilder:default=approle
	// +optional
	Path string `json:"path,omitempty"`
	// RoleID of the AppRole; or RoleRef.
	// +optional
	RoleID string `json:"roleId,omitempty"`
	// RoleRef reads the role id from a Secret.
	// +optional
	RoleRef *SecretKeySelector `json:"roleRef,omitempty"`
	// SecretRef holds the secret id.
	SecretRef SecretKeySelector `json:"secretRef"`
}

// VaultLdapAuth logs in with an LDAP user name and password.
type VaultLdapAuth struct {
	// +kubebuilder:default=ldap
	Path     string `json:"path"`
	Username string `json:"username"`
	// SecretRef holds the password.
	// +optional
	SecretRef SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultUserPassAuth logs in with a userpass user name and password.
type VaultUserPassAuth struct {
	// +kubebuilder:default=userpass
	Path     string `json:"path"`
	Username string `json:"username"`
	// SecretRef holds the password.
	// +optional
	SecretRef SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultJwtAuth logs in with a JWT or OIDC token, from a Secret or minted for a
// ServiceAccount.
type VaultJwtAuth struct {
	// +kubebuilder:default=jwt
	Path string `json:"path"`
	// +optional
	Role string `json:"role,omitempty"`
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`
	// +optional
	KubernetesServiceAccountToken *VaultKubernetesServiceAccountTokenAuth `json:"kubernetesServiceAccountToken,omitempty"`
}

// VaultKubernetesServiceAccountTokenAuth mints a ServiceAccount token for JWT login.
type VaultKubernetesServiceAccountTokenAuth struct {
	ServiceAccountRef ServiceAccountSelector `json:"serviceAccountRef"`
	// Audiences of the token (deprecated in ESO: use serviceAccountRef.audiences).
	// +optional
	Audiences *[]string `json:"audiences,omitempty"`
	// +optional
	ExpirationSeconds *int64 `json:"expirationSeconds,omitempty"`
}

// VaultCertAuth logs in with a TLS client certificate.
type VaultCertAuth struct {
	// +kubebuilder:default=cert
	// +optional
	Path string `json:"path"`
	// +optional
	VaultRole string `json:"vaultRole,omitempty"`
	// ClientCert holds the certificate.
	// +optional
	ClientCert SecretKeySelector `json:"clientCert,omitempty"`
	// SecretRef holds the private key.
	// +optional
	SecretRef SecretKeySelector `json:"secretRef,omitempty"`
}

// VaultIamAuth logs in with AWS IAM credentials.
type VaultIamAuth struct {
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	Region string `json:"region,omitempty"`
	// AWSIAMRole is the AWS role to assume before logging in.
	// +optional
	AWSIAMRole string `json:"role,omitempty"`
	// Role is the Vault role.
	Role string `json:"vaultRole"`
	// +optional
	ExternalID string `json:"externalID,omitempty"`
	// +optional
	VaultAWSIAMServerID string `json:"vaultAwsIamServerID,omitempty"`
	// +optional
	SecretRef *VaultAwsAuthSecretRef `json:"secretRef,omitempty"`
	// +optional
	JWTAuth *VaultAwsJWTAuth `json:"jwt,omitempty"`
}

// VaultAwsAuthSecretRef names the Secret keys of static AWS credentials.
type VaultAwsAuthSecretRef struct {
	// +optional
	AccessKeyID SecretKeySelector `json:"accessKeyIDSecretRef,omitempty"`
	// +optional
	SecretAccessKey SecretKeySelector `json:"secretAccessKeySecretRef,omitempty"`
	// +optional
	SessionToken *SecretKeySelector `json:"sessionTokenSecretRef,omitempty"`
}

// VaultAwsJWTAuth uses a ServiceAccount's IRSA role.
type VaultAwsJWTAuth struct {
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}

// VaultGCPAuth logs in with Google Cloud credentials.
type VaultGCPAuth struct {
	// +kubebuilder:default=gcp
	// +optional
	Path string `json:"path,omitempty"`
	Role string `json:"role"`
	// +optional
	ProjectID string `json:"projectID,omitempty"`
	// +optional
	Location string `json:"location,omitempty"`
	// +optional
	SecretRef *GCPSMAuthSecretRef `json:"secretRef,omitempty"`
	// +optional
	WorkloadIdentity *GCPWorkloadIdentity `json:"workloadIdentity,omitempty"`
	// +optional
	ServiceAccountRef *ServiceAccountSelector `json:"serviceAccountRef,omitempty"`
}
