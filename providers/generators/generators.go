// Package generators implements ESO's generator kinds (generators.external-secrets.io):
// each sync of an ExternalSecret that names one through dataFrom[].sourceRef.generatorRef
// gets new values.
package generators

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// get reads a generator object; a missing one is a configuration error that names it.
func get(ctx context.Context, kube client.Client, kind, namespace, name string, obj client.Object) error {
	err := kube.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, obj)
	if apierrors.IsNotFound(err) {
		return providers.Configf("%s %s/%s does not exist: create it or fix sourceRef.generatorRef", kind, namespace, name)
	}
	if err != nil {
		return fmt.Errorf("reading %s %s/%s: %w", kind, namespace, name, err)
	}
	return nil
}

// asStore wraps a generator's provider configuration in a SecretStore of the generator's
// namespace, so that the provider validates and resolves its credentials under a
// SecretStore's rules (no references to other namespaces).
func asStore(namespace, name string, p esv1.SecretStoreProvider) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       esv1.SecretStoreSpec{Provider: &p},
	}
}

// flatten turns a JSON object into Secret data: strings as they are, other values as JSON.
func flatten(m map[string]any) (map[string][]byte, error) {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = []byte(s)
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = b
	}
	return out, nil
}
