package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// PasswordSpec configures the generated password (ESO's fields and defaults). ESO's schema
// accepts digits + symbols > length or negative counts; the generator refuses them at sync
// and the webhook warns (policy/compat.go).
type PasswordSpec struct {
	// Length of the password, at most 1024 (a hostile-input limit: a huge length would
	// make the controller allocate it on every sync; THREATS.md).
	// +kubebuilder:default=24
	// +kubebuilder:validation:Maximum=1024
	Length int `json:"length"`
	// Digits in the password; default 25 % of the length.
	// +optional
	Digits *int `json:"digits,omitempty"`
	// Symbols in the password; default 25 % of the length.
	// +optional
	Symbols *int `json:"symbols,omitempty"`
	// SymbolCharacters the symbols are drawn from; default ~!@#$%^&*()_+`-={}|[]\:"<>?,./
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
	SecretKeys []string `json:"secretKeys,omitempty"`
}

// Password generates a random password into the key "password".
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
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
