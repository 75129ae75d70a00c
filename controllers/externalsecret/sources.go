package externalsecret

import (
	"context"
	"fmt"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/policycheck"
	"github.com/vigil-dev/vigil/controllers/internal/storeref"
	"github.com/vigil-dev/vigil/providers"
)

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
			return nil, outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("%s %q named in a sourceRef belongs to "+
				"controller class %q, not %q", store.GetKind(), store.GetName(), store.GetSpec().Controller, s.r.ControllerClass))
		}
		if err := policycheck.Store(ctx, s.r.Gate, store); err != nil {
			return nil, err
		}
	}
	if store == nil {
		return nil, outcome.Terminal(esv1.ReasonSecretSyncedError, fmt.Errorf("spec.secretStoreRef is empty and an entry "+
			"has no sourceRef.storeRef: name a store"))
	}
	key := store.GetKind() + "/" + store.GetName()
	if f, ok := s.readers[key]; ok {
		return f, nil
	}
	cl, err := s.r.Providers.Get(ctx, store, s.es.Namespace)
	if err != nil {
		return nil, storeError(store, err)
	}
	f := &fetcher{client: cl, store: store, values: map[providers.Ref][]byte{}, dropMissing: s.dropMissing,
		iam: s.r.rolePolicies()}
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

// fetchData reads one data entry: the remote value (or its metadata), its property,
// decoded. nil with no error: the value is gone and the deletion policy drops it.
func (s *sources) fetchData(ctx context.Context, i int, d esv1.ExternalSecretData) ([]byte, error) {
	var sref *esv1.SecretStoreRef
	if d.SourceRef != nil {
		sref = &d.SourceRef.SecretStoreRef
	}
	f, err := s.reader(ctx, sref)
	if err != nil {
		return nil, err
	}
	if err := providers.CheckKey(f.store, fmt.Sprintf("spec.data[%d].remoteRef.key", i), d.RemoteRef.Key); err != nil {
		return nil, storeError(f.store, err)
	}
	ref := refOf(d.RemoteRef)
	v, err := f.value(ctx, ref, d.RemoteRef.MetadataPolicy)
	if err != nil {
		return nil, storeError(f.store, err)
	}
	if v == nil {
		return nil, nil
	}
	if v, err = providers.SelectProperty(v, ref, d.RemoteRef.Property); err != nil {
		return nil, storeError(f.store, err)
	}
	if v, err = providers.Decode(v, d.RemoteRef.DecodingStrategy, ref); err != nil {
		return nil, storeError(f.store, err)
	}
	return v, nil
}
