package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// PasswordSpec configures the generated password (ESO's fields and defaults).
// +kubebuilder:validation:XValidation:rule="(has(self.digits) ? self.digits : 0) + (has(self.symbols) ? self.symbols : 0) <= self.length",message="digits + symbols must not exceed length; lower them or raise length"
type PasswordSpec struct {
	// Length of the password.
	// +kubebuilder:default=24
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	Length int `json:"length"`
	// Digits in the password; default 25 % of the length.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Digits *int `json:"digits,omitempty"`
	// Symbols in the password; default 25 % of the length.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Symbols *int `json:"symbols,omitempty"`
	// SymbolCharacters the symbols are drawn from; default ~!@#$%^&*()_+`-={}|[]\:"<>?,./
	// +kubebuilder:validation:MinLength=1
	// +optional
	SymbolCharacters *string `json:"symbolCharacters,omitempty"`
	// NoUpper leaves out upper-case letters.
	// +kubebuilder:default=false
	NoUpper bool `json:"noUpper"`
	// AllowRepeat lets characters repeat.
	// +kubebuilder:default=false
	AllowRepeat bool `json:"allowRepeat"`
	// Encoding of the generated password: base64, base64url, base32, hex or raw.
	// +kubebuilder:default="raw"
	// +kubebuilder:validation:Enum=base64;base64url;base32;hex;raw
	// +optional
	Encoding *string `json:"encoding,omitempty"`
	// SecretKeys the password is written to (one password each); default ["password"].
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:Items:MinLength=1
	SecretKeys []string `json:"secretKeys,omitempty"`
}

// Password generates a random password into the key "password".
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories={external-secrets,external-secrets-generators}
type Password struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec PasswordSpec `json:"spec,omitempty"`
}

// PasswordList is a list of Password.
// +kubebuilder:object:root=true
type PasswordList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Password `json:"items"`
}
