package externalsecret

import (
	"context"
	"errors"
	"fmt"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// dataFrom reads one dataFrom entry: extract (a JSON object's keys) or find (many remote
// secrets, keyed by their converted names).
func (f *fetcher) dataFrom(
	ctx context.Context, i int, from esv1.ExternalSecretDataFromRemoteRef,
) (map[string][]byte, error) {
	out := map[string][]byte{}
	if from.Find != nil {
		ref := providers.FindRef{Tags: from.Find.Tags}
		if from.Find.Path != nil {
			ref.Path = *from.Find.Path
		}
		if from.Find.Name != nil {
			ref.Name = from.Find.Name.RegExp
		}
		found, err := f.client.Find(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("spec.dataFrom[%d].find: %w", i, err)
		}
		for name, v := range found {
			dec, err := providers.Decode(v, from.Find.DecodingStrategy, providers.Ref{Key: name})
			if err != nil {
				return nil, err
			}
			out[providers.ConvertKey(name, from.Find.ConversionStrategy)] = dec
		}
		return out, nil
	}
	ref := refOf(*from.Extract)
	v, err := f.value(ctx, ref, from.Extract.MetadataPolicy)
	if err != nil || v == nil {
		return out, err
	}
	m, err := providers.ExtractMap(v, ref, from.Extract.Property)
	if err != nil {
		return nil, err
	}
	for k, v := range m {
		key := providers.ConvertKey(k, from.Extract.ConversionStrategy)
		if out[key], err = providers.Decode(v, from.Extract.DecodingStrategy, ref); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// value returns a remote secret's value, or with metadataPolicy Fetch its tags as a JSON
// object (so that property selects one tag and extract yields them all, as in ESO).
func (f *fetcher) value(
	ctx context.Context, ref providers.Ref, policy esv1.ExternalSecretMetadataPolicy,
) ([]byte, error) {
	if policy != esv1.MetadataPolicyFetch {
		return f.get(ctx, ref)
	}
	doc, err := f.client.GetMetadataDocument(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("key %s: reading metadata: %w", ref, err)
	}
	return doc, nil
}

// fetcher reads each remote value of one store once per pass.
type fetcher struct {
	client      *providers.Reader
	store       esv1.GenericStore
	values      map[providers.Ref][]byte
	dropMissing bool
	missing     int
	iam         policy.RolePolicies // explains AccessDenied; nil when IAM cannot be read
}

// get returns a remote value; nil with no error means the value is gone and the deletion
// policy drops it.
func (f *fetcher) get(ctx context.Context, ref providers.Ref) ([]byte, error) {
	if v, ok := f.values[ref]; ok {
		if v == nil {
			f.missing++
		}
		return v, nil
	}
	v, err := f.client.GetSecret(ctx, ref)
	if errors.Is(err, providers.ErrNotFound) && f.dropMissing {
		f.values[ref] = nil
		f.missing++
		return nil, nil
	}
	if err != nil {
		// NotFound errors and the providers' BackendErrors name the key already.
		if be := providers.AsBackendError(err); !errors.Is(err, providers.ErrNotFound) && (be == nil || be.Key == "") {
			err = fmt.Errorf("key %s: %w", ref, err)
		}
		explainDenied(ctx, f.iam, err)
		return nil, explainMissing(ctx, f.client, ref, err)
	}
	f.values[ref] = v
	return v, nil
}

func refOf(r esv1.ExternalSecretDataRemoteRef) providers.Ref {
	return providers.Ref{Key: r.Key, Version: r.Version}
}

// storeError names the store in an error and keeps its kind: configuration errors are
// terminal, everything else (network, throttling, a missing key that may come back) is
// retried with backoff.
func storeError(store esv1.GenericStore, err error) error {
	wrapped := fmt.Errorf("reading from %s %q: %w", store.GetKind(), store.GetName(), err)
	var cfg *providers.ConfigError
	var oe *outcome.Error
	switch {
	case errors.As(err, &oe):
		return &outcome.Error{Kind: oe.Kind, Reason: oe.Reason, Err: wrapped, After: oe.After}
	case errors.As(err, &cfg):
		return outcome.Terminal(esv1.ReasonSecretSyncedError, wrapped)
	}
	return outcome.Transient(esv1.ReasonSecretSyncedError, wrapped)
}
