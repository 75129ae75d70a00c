package externalsecret

import (
	"slices"
	"testing"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// A change of any store an ExternalSecret reads from requeues it: its own and those of its
// sourceRefs, each once.
func TestStoreKeys_IncludeSourceRefStores(t *testing.T) {
	es := &esv1.ExternalSecret{Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "main"},
		Data: []esv1.ExternalSecretData{
			{SourceRef: &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Name: "shared", Kind: esv1.ClusterSecretStoreKind}}},
			{SourceRef: &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Name: "main", Kind: esv1.SecretStoreKind}}},
		},
		DataFrom: []esv1.ExternalSecretDataFromRemoteRef{
			{SourceRef: &esv1.StoreGeneratorSourceRef{SecretStoreRef: &esv1.SecretStoreRef{Name: "other"}}},
			{SourceRef: &esv1.StoreGeneratorSourceRef{GeneratorRef: &esv1.GeneratorRef{Kind: "Password", Name: "pw"}}},
		},
	}}
	want := []string{"ClusterSecretStore/shared", "SecretStore/main", "SecretStore/other"}
	if got := storeKeys(es); !slices.Equal(got, want) {
		t.Errorf("storeKeys = %v, want %v", got, want)
	}
}
