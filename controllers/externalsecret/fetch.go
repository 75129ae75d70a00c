package externalsecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/policycheck"
	"github.com/vigil-dev/vigil/controllers/internal/storeref"
	"github.com/vigil-dev/vigil/providers"
)

// resolveStore returns the store the ExternalSecret reads from, checking that a
// ClusterSecretStore admits its namespace. A missing or refusing store is terminal: the
// store watch brings the ExternalSecret back when the store changes.
func (r *Reconciler) resolveStore(ctx context.Context, es *esv1.ExternalSecret) (esv1.GenericStore, error) {
	if es.Spec.SecretStoreRef.Name == "" && everyEntryHasSource(es) {
		return nil, nil // only generators and sourceRef stores: nothing to resolve here
	}
	return storeref.Get(ctx, r.Client, es.Spec.SecretStoreRef, es.Namespace)
}

// fetchData reads every remote value the spec names and returns the Secret data. Each
// remote key and version is read once per pass, however many entries use it. Entries whose
// remote value is gone are counted in missing instead of failing when the deletion policy
// allows dropping them; with Retain they fail the pass.
func (r *Reconciler) fetchData(ctx context.Context, es *esv1.ExternalSecret, store esv1.GenericStore) (map[string][]byte, int, error) {
	if err := unsupported(es); err != nil {
		return nil, 0, outcome.Terminal(esv1.ReasonSecretSyncedError, err)
	}
	dropMissing := es.Spec.Target.DeletionPolicy != esv1.DeletionPolicyRetain
	src := &sources{r: r, es: es, main: store, readers: map[string]*fetcher{}, dropMissing: dropMissing}
	data := map[string][]byte{}
	// dataFrom first, then data, so that an explicit data entry wins over an extracted key
	// of the same name (ESO's order).
	for i, from := range es.Spec.DataFrom {
		if from.SourceRef != nil && from.SourceRef.GeneratorRef != nil {
			g := from.SourceRef.GeneratorRef
			if err := policycheck.Generator(ctx, r.Gate, r.APIReader, g, es.Namespace); err != nil {
				return nil, 0, err
			}
			m, err := r.Providers.Generate(ctx, g.APIVersion, g.Kind, g.Name, es.Namespace)
			if err != nil {
				return nil, 0, generatorError(i, g, err)
			}
			if m, err = providers.Rewrite(m, from.Rewrite); err != nil {
				return nil, 0, outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("spec.dataFrom[%d].%v", i, err))
			}
			maps.Copy(data, m)
			continue
		}
		var ref *esv1.SecretStoreRef
		if from.SourceRef != nil {
			ref = from.SourceRef.SecretStoreRef
		}
		f, err := src.reader(ctx, ref)
		if err != nil {
			return nil, 0, err
		}
		if err := providers.CheckDataFrom(f.store, i, from); err != nil {
			return nil, 0, storeError(f.store, err)
		}
		m, err := f.dataFrom(ctx, i, from)
		if err != nil {
			return nil, 0, storeError(f.store, err)
		}
		if m, err = providers.Rewrite(m, from.Rewrite); err != nil {
			return nil, 0, storeError(f.store, providers.Configf("spec.dataFrom[%d].%v", i, err))
		}
		maps.Copy(data, m)
	}
	for i, d := range es.Spec.Data {
		var sref *esv1.SecretStoreRef
		if d.SourceRef != nil {
			sref = &d.SourceRef.SecretStoreRef
		}
		f, err := src.reader(ctx, sref)
		if err != nil {
			return nil, 0, err
		}
		if err := providers.CheckKey(f.store, fmt.Sprintf("spec.data[%d].remoteRef.key", i), d.RemoteRef.Key); err != nil {
			return nil, 0, storeError(f.store, err)
		}
		ref := refOf(d.RemoteRef)
		v, err := f.value(ctx, ref, d.RemoteRef.MetadataPolicy)
		if err != nil {
			return nil, 0, storeError(f.store, err)
		}
		if v == nil {
			continue
		}
		if v, err = providers.SelectProperty(v, ref, d.RemoteRef.Property); err != nil {
			return nil, 0, storeError(f.store, err)
		}
		if data[d.SecretKey], err = providers.Decode(v, d.RemoteRef.DecodingStrategy, ref); err != nil {
			return nil, 0, storeError(f.store, err)
		}
	}
	return data, src.missing(), nil
}

// sources hands out one fetcher per store an ExternalSecret reads from: its own
// spec.secretStoreRef and any sourceRef.storeRef. A store named only in a sourceRef passes
// the same checks as the main one (namespace conditions, controller class, policies) before
// any credential is used.
type sources struct {
	r           *Reconciler
	es          *esv1.ExternalSecret
	main        esv1.GenericStore
	readers     map[string]*fetcher
	dropMissing bool
}

func (s *sources) reader(ctx context.Context, ref *esv1.SecretStoreRef) (*fetcher, error) {
	store := s.main
	if ref != nil && ref.Name != "" {
		kind := ref.Kind
		if kind == "" {
			kind = esv1.SecretStoreKind
		}
		if f, ok := s.readers[kind+"/"+ref.Name]; ok {
			return f, nil
		}
		var err error
		if store, err = storeref.Get(ctx, s.r.Client, *ref, s.es.Namespace); err != nil {
			return nil, err
		}
		if !storeref.Handles(s.r.ControllerClass, store) {
			return nil, outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("%s %q named in a sourceRef belongs to controller class %q, not %q", store.GetKind(), store.GetName(), store.GetSpec().Controller, s.r.ControllerClass))
		}
		if err := policycheck.Store(ctx, s.r.Gate, store); err != nil {
			return nil, err
		}
	}
	if store == nil {
		return nil, outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("spec.secretStoreRef is empty and an entry has no sourceRef.storeRef: name a store"))
	}
	key := store.GetKind() + "/" + store.GetName()
	if f, ok := s.readers[key]; ok {
		return f, nil
	}
	cl, err := s.r.Providers.Get(ctx, store, s.es.Namespace)
	if err != nil {
		return nil, storeError(store, err)
	}
	f := &fetcher{client: cl, store: store, values: map[providers.Ref][]byte{}, dropMissing: s.dropMissing}
	s.readers[key] = f
	return f, nil
}

func (s *sources) missing() int {
	n := 0
	for _, f := range s.readers {
		n += f.missing
	}
	return n
}

// generatorError keeps a generator's error kind: configuration errors are terminal.
func generatorError(i int, g *esv1.GeneratorRef, err error) error {
	wrapped := fmt.Errorf("spec.dataFrom[%d].sourceRef.generatorRef %s %q: %w", i, g.Kind, g.Name, err)
	var cfg *providers.ConfigError
	if errors.As(err, &cfg) {
		return outcome.Terminal(esv1.ReasonSecretSyncedError, wrapped)
	}
	return outcome.Transient(esv1.ReasonSecretSyncedError, wrapped)
}

// everyEntryHasSource reports whether every data and dataFrom entry names its own store or
// generator, so that spec.secretStoreRef may be left out (as with ESO).
func everyEntryHasSource(es *esv1.ExternalSecret) bool {
	if len(es.Spec.Data)+len(es.Spec.DataFrom) == 0 {
		return false
	}
	for _, d := range es.Spec.Data {
		if d.SourceRef == nil || d.SourceRef.SecretStoreRef.Name == "" {
			return false
		}
	}
	for _, d := range es.Spec.DataFrom {
		if d.SourceRef == nil || (d.SourceRef.GeneratorRef == nil && (d.SourceRef.SecretStoreRef == nil || d.SourceRef.SecretStoreRef.Name == "")) {
			return false
		}
	}
	return true
}

// dataFrom reads one dataFrom entry: extract (a JSON object's keys) or find (many remote
// secrets, keyed by their converted names).
func (f *fetcher) dataFrom(ctx context.Context, i int, from esv1.ExternalSecretDataFromRemoteRef) (map[string][]byte, error) {
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
		if out[providers.ConvertKey(k, from.Extract.ConversionStrategy)], err = providers.Decode(v, from.Extract.DecodingStrategy, ref); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// value returns a remote secret's value, or with metadataPolicy Fetch its tags as a JSON
// object (so that property selects one tag and extract yields them all, as in ESO).
func (f *fetcher) value(ctx context.Context, ref providers.Ref, policy esv1.ExternalSecretMetadataPolicy) ([]byte, error) {
	if policy != esv1.MetadataPolicyFetch {
		return f.get(ctx, ref)
	}
	tags, err := f.client.GetMetadata(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("key %s: reading metadata: %w", ref, err)
	}
	return json.Marshal(tags)
}

// fetcher reads each remote value of one store once per pass.
type fetcher struct {
	client      *providers.Reader
	store       esv1.GenericStore
	values      map[providers.Ref][]byte
	dropMissing bool
	missing     int
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
		if !errors.Is(err, providers.ErrNotFound) { // NotFound errors name the key already
			err = fmt.Errorf("key %s: %w", ref, err)
		}
		return nil, err
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

// unsupported names the first part of the spec this version of Vigil does not implement,
// so that it fails clearly instead of being ignored.
func unsupported(es *esv1.ExternalSecret) error {
	for i, from := range es.Spec.DataFrom {
		switch {
		case from.SourceRef != nil && from.SourceRef.GeneratorRef != nil && from.SourceRef.SecretStoreRef != nil:
			return fmt.Errorf("spec.dataFrom[%d].sourceRef sets both storeRef and generatorRef; keep one", i)
		case from.SourceRef != nil && from.SourceRef.GeneratorRef != nil:
		case from.Extract == nil && from.Find == nil:
			return fmt.Errorf("spec.dataFrom[%d] sets neither extract nor find", i)
		}
	}
	for i, d := range es.Spec.Data {
		if d.SourceRef != nil && d.SourceRef.GeneratorRef != nil {
			return fmt.Errorf("spec.data[%d].sourceRef.generatorRef is not supported (as in ESO): use spec.dataFrom[].sourceRef.generatorRef", i)
		}
	}
	return nil
}
