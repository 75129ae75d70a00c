package render

import (
	"strings"
	"testing"
)

func TestFilterPEM(t *testing.T) {
	bundle := "-----BEGIN CERTIFICATE-----\nYQ==\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nYg==\n-----END PRIVATE KEY-----\n"
	got, err := filterPEM("PRIVATE KEY", bundle)
	if err != nil || !strings.Contains(got, "PRIVATE KEY") || strings.Contains(got, "CERTIFICATE") {
		t.Errorf("filterPEM = %q, %v", got, err)
	}
	if _, err := filterPEM("EC PRIVATE KEY", bundle); err == nil {
		t.Error("a missing block type was not an error")
	}
}
