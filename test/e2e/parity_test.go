package e2e

import (
	"encoding/hex"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
)

// ESO's fields and providers that Vigil accepts but does not implement are never silently
// ignored: a store says which provider or field is missing (Ready=False,
// InvalidProviderConfig), an ExternalSecret fails with SecretSyncedError naming the field.
func TestParity_UnimplementedProviderOrFieldIsRefusedByName(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	url := "https://example.vault.azure.net"
	stores := []struct {
		name     string
		provider esv1.SecretStoreProvider
		want     string
	}{
		{"gcp", esv1.SecretStoreProvider{GCPSM: &esv1.GCPSMProvider{ProjectID: "p", Auth: esv1.GCPSMAuth{
			WorkloadIdentityFederation: &esv1.GCPWorkloadIdentityFederation{Audience: "a",
				CredConfig: &esv1.ConfigMapReference{Name: "c", Key: "k"}}}}},
			"spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig: not implemented by Vigil yet"},
		{"azure", esv1.SecretStoreProvider{AzureKV: &esv1.AzureKVProvider{VaultURL: &url,
			EnvironmentType: esv1.AzureEnvironmentGermanCloud}},
			"environmentType GermanCloud: Microsoft Cloud Deutschland was closed in 2021"},
		{"vault-gcp", esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: "https://vault.example:8200",
			Auth: &esv1.VaultAuth{GCP: &esv1.VaultGCPAuth{Path: "gcp", Role: "r"}}}},
			"spec.provider.vault.auth.gcp: not implemented by Vigil yet"},
	}
	for _, s := range stores {
		h.Create(&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: s.name},
			Spec: esv1.SecretStoreSpec{Provider: &s.provider}})
	}
	for _, s := range stores {
		got := waitStoreMessage(t, types.NamespacedName{Namespace: ns, Name: s.name}, s.want)
		if r := conditionReason(got.Status.Conditions); r != esv1.ReasonInvalidProviderConfig {
			t.Errorf("store %s: reason %q, want %s", s.name, r, esv1.ReasonInvalidProviderConfig)
		}
	}

	fake := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fake"}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "k", Value: `{"a":"1"}`}}}}}}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "merge"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "fake", Kind: esv1.SecretStoreKind},
		DataFrom: []esv1.ExternalSecretDataFromRemoteRef{{
			Extract: &esv1.ExternalSecretDataRemoteRef{Key: "k"},
			Rewrite: []esv1.ExternalSecretRewrite{{Merge: &esv1.ExternalSecretRewriteMerge{Into: "all"}}},
		}},
	}}
	h.Create(fake, es)
	got := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "merge"},
		"spec.dataFrom[0].rewrite[0].merge: not implemented by Vigil yet")
	if r := conditionReason(got.Status.Conditions); r != esv1.ReasonSecretSyncedError {
		t.Errorf("ExternalSecret reason %q, want %s", r, esv1.ReasonSecretSyncedError)
	}
}

func conditionReason(cs []metav1.Condition) string {
	for _, c := range cs {
		if c.Type == esv1.ConditionReady {
			return c.Reason
		}
	}
	return ""
}

// Password's ESO fields secretKeys and encoding: one password per key, hex-encoded.
func TestParity_PasswordSecretKeysAndEncoding(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	hexEnc := "hex"
	h.Create(&genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pw"},
		Spec: genv1alpha1.PasswordSpec{Length: 16, SecretKeys: []string{"first", "second"}, Encoding: &hexEnc}},
		generatedSecret(ns, "two", "Password", "pw"))
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "two"}, esv1.ReasonSecretSynced)
	data := h.Secret(ns, "two").Data
	if len(data) != 2 || len(data["first"]) != 32 || len(data["second"]) != 32 {
		t.Fatalf("want keys first and second, each a hex-encoded 16-character password; got %d keys", len(data))
	}
	for k, v := range data {
		if _, err := hex.DecodeString(string(v)); err != nil {
			t.Errorf("key %s is not hex", k)
		}
	}
	if string(data["first"]) == string(data["second"]) {
		t.Error("both keys hold the same password; ESO generates one per key")
	}
}
