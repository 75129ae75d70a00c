package gcp_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

func clientKey(namespace, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: namespace, Name: name}
}

// keyMaterial returns the Secret's key files, to check that no message carries them.
func keyMaterial(t *testing.T) map[string][]byte {
	t.Helper()
	s := &corev1.Secret{}
	if err := cp.Client.Get(context.Background(), clientKey(ns, "gcp-keys"), s); err != nil {
		t.Fatal(err)
	}
	return s.Data
}

func assertNoKeyMaterial(t *testing.T, msg string) {
	t.Helper()
	for name, key := range keyMaterial(t) {
		for _, line := range strings.Split(string(key), "\n") {
			if len(line) > 20 && strings.Contains(msg, line) {
				t.Errorf("message carries part of %s: %s", name, msg)
			}
		}
		if strings.Contains(msg, "PRIVATE KEY") || strings.Contains(msg, "ya29.") {
			t.Errorf("message carries key or token material: %s", msg)
		}
	}
}

// A key the service account no longer has is refused by the token endpoint (the Google
// auth library signs a JWT that the endpoint checks): Validate and reads fail naming the
// field to fix and the OAuth error code, with no key material.
func TestAuth_RefusedKeyNamesTheField(t *testing.T) {
	c := newClient(t, store(withKey("rotated.json")))
	for name, err := range map[string]error{
		"Validate":  c.Validate(context.Background()),
		"GetSecret": func() error { _, err := c.GetSecret(context.Background(), providers.Ref{Key: "x"}); return err }(),
	} {
		if err == nil {
			t.Fatalf("%s with a rotated key succeeded", name)
		}
		msg := err.Error()
		for _, want := range []string{"invalid_grant", "auth.secretRef.secretAccessKeySecretRef",
			"rotated@vigil-test.iam.gserviceaccount.com"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q does not name %q", name, msg, want)
			}
		}
		assertNoKeyMaterial(t, msg)
	}
	if err := newClient(t, store()).Validate(context.Background()); err != nil {
		t.Errorf("Validate with the current key: %v", err)
	}
}

// A service account without access to the project gets PermissionDenied, named with the
// permission, the resource and the identity.
func TestAuth_PermissionDenied(t *testing.T) {
	sm.Put(project, "", "guarded", nil, "v")
	c := newClient(t, store(withKey("other.json")))
	_, err := c.GetSecret(context.Background(), providers.Ref{Key: "guarded"})
	be := providers.AsBackendError(err)
	if be == nil || be.Code != "PermissionDenied" || !be.Denied {
		t.Fatalf("GetSecret of another project's secret: %v, want PermissionDenied", err)
	}
	for _, want := range []string{"secretmanager.versions.access", "projects/vigil-test/secrets/guarded/versions/latest",
		"other@other-project.iam.gserviceaccount.com"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %q", err, want)
		}
	}
}

// The server checks the bearer token of every call: a token it no longer knows is
// Unauthenticated, and the message says which credentials to check.
func TestAuth_UnknownTokenIsUnauthenticated(t *testing.T) {
	sm.Put(project, "", "token-check", nil, "v")
	c := newClient(t, store())
	if got := get(t, c, "token-check", ""); got != "v" {
		t.Fatalf("read %q", got)
	}
	sm.RevokeTokens()
	_, err := c.GetSecret(context.Background(), providers.Ref{Key: "token-check"})
	be := providers.AsBackendError(err)
	if be == nil || be.Code != "Unauthenticated" || !strings.Contains(err.Error(), "auth.secretRef.secretAccessKeySecretRef") {
		t.Fatalf("read with a revoked token: %v, want Unauthenticated naming the key field", err)
	}
}

// Only service-account key files are accepted, and only with Google's token endpoint:
// other credential types make the auth library read files or call URLs they name.
func TestAuth_RefusesOtherCredentialFiles(t *testing.T) {
	for key, want := range map[string]string{
		"external.json":    `type "external_account"`,
		"foreign-uri.json": "token_uri is not Google's token endpoint",
		"not-json":         "not a JSON service-account key file",
		"missing":          `has no key "missing"`,
	} {
		_, err := provider().NewClient(context.Background(), store(withKey(key)), cp.Client, ns)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("key %s: %v, want an error containing %q", key, err, want)
			continue
		}
		if !strings.Contains(err.Error(), "gcp-keys") && !strings.Contains(err.Error(), "secretAccessKeySecretRef") {
			t.Errorf("key %s: %q names neither the Secret nor the field", key, err)
		}
		assertNoKeyMaterial(t, err.Error())
	}
}

// ValidateStore refuses what can never work, naming the field; a location is part of the
// regional endpoint's host name, so it must be a location.
func TestValidateStore(t *testing.T) {
	other := "elsewhere"
	cases := map[string]func(*esv1.GCPSMProvider){
		"no project":      func(p *esv1.GCPSMProvider) { p.ProjectID = "" },
		"project path":    func(p *esv1.GCPSMProvider) { p.ProjectID = "p/secrets/x" },
		"location host":   func(p *esv1.GCPSMProvider) { p.Location = "evil.example.com#" },
		"policy":          func(p *esv1.GCPSMProvider) { p.SecretVersionSelectionPolicy = "Newest" },
		"other namespace": func(p *esv1.GCPSMProvider) { p.Auth.SecretRef.SecretAccessKey.Namespace = &other },
		"no key":          func(p *esv1.GCPSMProvider) { p.Auth.SecretRef.SecretAccessKey.Key = "" },
	}
	for name, mutate := range cases {
		err := provider().ValidateStore(store(mutate))
		var ce *providers.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "spec.provider.gcpsm.") && name != "other namespace" {
			t.Errorf("%s: %v, want a configuration error naming the field", name, err)
		}
	}
	if err := provider().ValidateStore(store(func(p *esv1.GCPSMProvider) { p.Location = "us-central1" })); err != nil {
		t.Errorf("a valid store was refused: %v", err)
	}
}
