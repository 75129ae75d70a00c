package policy

import (
	"context"
	"errors"
	"fmt"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/internal/stores"
	"github.com/vigil-dev/vigil/providers"
)

// addEntries puts into the input every remote key and find path of an ExternalSecret, each
// with the store it actually reads through (its sourceRef.storeRef, else spec.secretStoreRef)
// and the names it reads as that store's backend resolves them (store prefix and Vault mount
// applied, ARNs parsed with the SDK's arn package, Vault paths cleaned as its client does),
// and any spelling the backend would read as another path. The rules compare names, never
// raw strings:
//
//	input.stores:  {"SecretStore/name": store, ...}: every store an entry reads through
//	input.entries: [{path, key, find, store, provider, names, relative, scope,
//	                 leadingSlashOptional, problem}]
//
// A store that does not exist (yet) leaves store "" and the key read as written.
func (b *Builder) addEntries(ctx context.Context, es *esv1.ExternalSecret, in Input) error {
	eb := &entries{b: b, es: es, resolved: map[string]esv1.GenericStore{}, stores: map[string]any{}, list: []any{}}
	for i, d := range es.Spec.Data {
		var ref *esv1.SecretStoreRef
		if d.SourceRef != nil {
			ref = &d.SourceRef.SecretStoreRef
		}
		if err := eb.add(ctx, fmt.Sprintf("spec.data[%d].remoteRef.key", i), d.RemoteRef.Key, false, ref); err != nil {
			return err
		}
	}
	for i, f := range es.Spec.DataFrom {
		var ref *esv1.SecretStoreRef
		if f.SourceRef != nil {
			if f.SourceRef.GeneratorRef != nil {
				continue // generated, not read
			}
			ref = f.SourceRef.SecretStoreRef
		}
		var err error
		switch {
		case f.Extract != nil:
			err = eb.add(ctx, fmt.Sprintf("spec.dataFrom[%d].extract.key", i), f.Extract.Key, false, ref)
		case f.Find != nil && f.Find.Path != nil:
			err = eb.add(ctx, fmt.Sprintf("spec.dataFrom[%d].find.path", i), *f.Find.Path, true, ref)
		case f.Find != nil:
			err = eb.add(ctx, fmt.Sprintf("spec.dataFrom[%d].find", i), "", true, ref)
		}
		if err != nil {
			return err
		}
	}
	in["stores"], in["entries"] = eb.stores, eb.list
	return nil
}

// entries gathers input.entries and input.stores for one ExternalSecret.
type entries struct {
	b        *Builder
	es       *esv1.ExternalSecret
	resolved map[string]esv1.GenericStore
	stores   map[string]any
	list     []any
}

// add describes one key (or find path) read through ref, else the main store.
func (eb *entries) add(ctx context.Context, field, key string, find bool, ref *esv1.SecretStoreRef) error {
	if ref == nil || ref.Name == "" {
		ref = &eb.es.Spec.SecretStoreRef
	}
	id, store, err := eb.b.entryStore(ctx, eb.es.Namespace, *ref, eb.resolved)
	if err != nil {
		return err
	}
	e, err := keyEntry(field, key, find, id, store, eb.stores, eb.b.Stores)
	if err != nil {
		return err
	}
	eb.list = append(eb.list, e)
	return nil
}

// keyEntry describes one key (or find path) read or written through store (nil: unknown,
// the key taken as written), adding the store to stores under id the first time: the names
// the backend gives it and any spelling it would read as another path. memo shares the
// store's map (nil: a map of its own).
func keyEntry(field, key string, find bool, id string, store esv1.GenericStore,
	stores map[string]any, memo *StoreInputs) (map[string]any, error) {
	e := map[string]any{"path": field, "key": key, "find": find, "store": "", "provider": ""}
	if store != nil {
		e["store"], e["provider"] = id, store.GetSpec().Provider.Name()
		if stores[id] == nil {
			var err error
			if stores[id], err = memo.mapOf(store); err != nil {
				return nil, err
			}
		}
	}
	check := providers.CheckKey
	if find {
		check = providers.CheckFindPath
	}
	if problem := check(store, field, key); problem != nil {
		e["problem"] = problem.Error()
	}
	n := providers.RemoteNames(store, key, find)
	e["names"], e["scope"], e["leadingSlashOptional"] = toAnyList(n.Names), n.Scope, n.LeadingSlashOptional
	if n.Relative != nil {
		e["relative"] = toAnyList(n.Relative)
	}
	return e, nil
}

// entryStore looks a store up by kind and name, once per input. Whether a ClusterSecretStore
// admits the namespace does not matter here: the names an entry would read do not depend on
// it (the reconciler refuses such a store anyway). A store that is missing, or that this
// installation may not read (Forbidden: one scoped to a namespace may not read
// ClusterSecretStores), is nil, as is a ref of no store kind: the reconciler refuses those
// with a reason.
func (b *Builder) entryStore(ctx context.Context, namespace string, ref esv1.SecretStoreRef,
	seen map[string]esv1.GenericStore) (string, esv1.GenericStore, error) {
	kind, err := stores.Kind(ref)
	if ref.Name == "" || err != nil {
		return "", nil, nil
	}
	id := kind + "/" + ref.Name
	if s, ok := seen[id]; ok {
		return id, s, nil
	}
	store, err := stores.Lookup(ctx, b.Client, ref, namespace)
	if err != nil && !errors.Is(err, stores.ErrNotFound) && !errors.Is(err, stores.ErrNotAllowed) {
		return "", nil, err
	}
	seen[id] = store
	return id, store, nil
}

func toAnyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
