package externalsecret

import (
	"context"
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
func (r *Reconciler) fetchData(
	ctx context.Context, es *esv1.ExternalSecret, store esv1.GenericStore,
) (data map[string][]byte, missing int, err error) {
	if err := unsupported(es); err != nil {
		return nil, 0, outcome.Terminal(esv1.ReasonSecretSyncedError, err)
	}
	dropMissing := es.Spec.Target.DeletionPolicy != esv1.DeletionPolicyRetain
	src := &sources{r: r, es: es, main: store, readers: map[string]*fetcher{}, dropMissing: dropMissing}
	data = map[string][]byte{}
	// dataFrom first, then data, so that an explicit data entry wins over an extracted key
	// of the same name (ESO's order).
	for i, from := range es.Spec.DataFrom {
		m, err := r.fetchDataFrom(ctx, src, i, from)
		if err != nil {
			return nil, 0, err
		}
		maps.Copy(data, m)
	}
	for i, d := range es.Spec.Data {
		v, err := src.fetchData(ctx, i, d)
		if err != nil {
			return nil, 0, err
		}
		if v != nil {
			data[d.SecretKey] = v
		}
	}
	return data, src.missing(), nil
}

// fetchDataFrom reads one dataFrom entry: what a generator issues, or what extract or find
// read from a store; its rewrites applied.
func (r *Reconciler) fetchDataFrom(
	ctx context.Context, src *sources, i int, from esv1.ExternalSecretDataFromRemoteRef,
) (map[string][]byte, error) {
	if from.SourceRef != nil && from.SourceRef.GeneratorRef != nil {
		return r.generate(ctx, src.es.Namespace, i, from)
	}
	var ref *esv1.SecretStoreRef
	if from.SourceRef != nil {
		ref = from.SourceRef.SecretStoreRef
	}
	f, err := src.reader(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := providers.CheckDataFrom(f.store, i, from); err != nil {
		return nil, storeError(f.store, err)
	}
	m, err := f.dataFrom(ctx, i, from)
	if err != nil {
		return nil, storeError(f.store, err)
	}
	if m, err = providers.Rewrite(m, from.Rewrite); err != nil {
		return nil, storeError(f.store, providers.Configf("spec.dataFrom[%d].%v", i, err))
	}
	return m, nil
}

// generate runs the generator a dataFrom entry names, once the policies allow it.
func (r *Reconciler) generate(
	ctx context.Context, namespace string, i int, from esv1.ExternalSecretDataFromRemoteRef,
) (map[string][]byte, error) {
	g := from.SourceRef.GeneratorRef
	if err := policycheck.Generator(ctx, r.Gate, r.APIReader, g, namespace); err != nil {
		return nil, err
	}
	m, err := r.Providers.Generate(ctx, g.APIVersion, g.Kind, g.Name, namespace)
	if err != nil {
		return nil, generatorError(i, g, err)
	}
	if m, err = providers.Rewrite(m, from.Rewrite); err != nil {
		return nil, outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("spec.dataFrom[%d].%v", i, err))
	}
	return m, nil
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
		if d.SourceRef == nil {
			return false
		}
		if d.SourceRef.GeneratorRef == nil && (d.SourceRef.SecretStoreRef == nil || d.SourceRef.SecretStoreRef.Name == "") {
			return false
		}
	}
	return true
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
			return fmt.Errorf("spec.data[%d].sourceRef.generatorRef is not supported (as in ESO): use "+
				"spec.dataFrom[].sourceRef.generatorRef", i)
		}
	}
	return nil
}
