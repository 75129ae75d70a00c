package v1

// FakeProvider serves an inline list of values. It exists for demos and tests.
type FakeProvider struct {
	// Data are the values served (at most 1000: a hostile-input limit, THREATS.md).
	// +kubebuilder:validation:MaxItems=1000
	Data []FakeProviderData `json:"data"`
	// ValidationResult is ESO's fake store validation outcome (0 Ready, 1 Unknown, 2 Error);
	// Vigil's fake store is always Ready, so only 0 or unset is honoured as written.
	// +optional
	ValidationResult *int `json:"validationResult,omitempty"`
}

// FakeProviderData is one value of a FakeProvider.
type FakeProviderData struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// +optional
	Version string `json:"version,omitempty"`
}
