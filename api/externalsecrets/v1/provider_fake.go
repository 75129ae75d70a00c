package v1

// FakeProvider serves an inline list of values. It exists for demos and tests.
type FakeProvider struct {
	// +kubebuilder:validation:MaxItems=1000
	Data []FakeProviderData `json:"data"`
}

// FakeProviderData is one value of a FakeProvider.
type FakeProviderData struct {
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// +optional
	Value string `json:"value,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
}
