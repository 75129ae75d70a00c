// Package fake is a provider that serves the inline data list of a store (ESO's fake
// provider). It exists for demos and tests and does no I/O.
package fake

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// Provider is the fake provider.
type Provider struct{}

// New returns the fake provider.
func New() *Provider { return &Provider{} }

// Name implements providers.Provider.
func (*Provider) Name() string { return "fake" }

// ValidateStore implements providers.Provider.
func (*Provider) ValidateStore(store esv1.GenericStore) error {
	if r := store.GetSpec().Provider.Fake.ValidationResult; r != nil && *r != 0 {
		// ESO's fake store reports this result (1 Unknown, 2 Error) instead of validating.
		return providers.Configf("spec.provider.fake.validationResult is %d: the fake store is set to fail "+
			"validation; remove it or set 0", *r)
	}
	seen := map[providers.Ref]bool{}
	for i, d := range store.GetSpec().Provider.Fake.Data {
		ref := providers.Ref{Key: d.Key, Version: d.Version}
		if seen[ref] {
			return providers.Configf("spec.provider.fake.data[%d]: key %s is listed twice", i, ref)
		}
		seen[ref] = true
	}
	return nil
}

// NewClient implements providers.Provider.
func (*Provider) NewClient(_ context.Context, store esv1.GenericStore, _ client.Client,
	_ string) (providers.Client, error) {
	values := map[providers.Ref][]byte{}
	for _, d := range store.GetSpec().Provider.Fake.Data {
		values[providers.Ref{Key: d.Key, Version: d.Version}] = []byte(d.Value)
	}
	return &storeClient{values: values}, nil
}

type storeClient struct {
	values map[providers.Ref][]byte
}

func (c *storeClient) GetSecret(_ context.Context, ref providers.Ref) ([]byte, error) {
	v, ok := c.values[ref]
	if !ok {
		return nil, providers.NotFound(ref, nil)
	}
	return v, nil
}

func (c *storeClient) Validate(context.Context) error { return nil }
