package fake

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/conformance"
)

func store(values map[string]string) *esv1.SecretStore {
	s := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "fake"}, Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}}}
	for k, v := range values {
		s.Spec.Provider.Fake.Data = append(s.Spec.Provider.Fake.Data, esv1.FakeProviderData{Key: k, Value: v})
	}
	return s
}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, values map[string]string) providers.Client {
		c, err := New().NewClient(context.Background(), store(values), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func TestValidateStore_RejectsDuplicateKeys(t *testing.T) {
	s := store(nil)
	s.Spec.Provider.Fake.Data = []esv1.FakeProviderData{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}
	if err := New().ValidateStore(s); err == nil {
		t.Error("a fake store listing a key twice was accepted")
	}
}
