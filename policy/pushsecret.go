package policy

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
)

// PushSecretKind is the kind of a PushSecret input (input.kind).
const PushSecretKind = "PushSecret"

// PushedKey is a remote key that a dataTo entry in per-key mode (no remoteKey) writes: its
// names come from the source Secret's keys (and rewrites), so only the controller knows
// them, at sync time. It passes them to the gate so that they are judged like every other
// remote key.
type PushedKey struct {
	// Path names the entry in the spec, e.g. `spec.dataTo[0] (key "password")`.
	Path string
	// Store is the store the key is pushed to.
	Store esv1.GenericStore
	// RemoteKey is the remote key written.
	RemoteKey string
}

// pushTargets says what a PushSecret's input judges.
type pushTargets struct {
	// through are the stores the controller resolved and pushes spec.data to: the keys are
	// judged through these very objects, not through stores read again (a tenant who edits
	// its SecretStore between the two reads must not have the key judged through one prefix
	// and written through another). nil resolves spec.secretStoreRefs (webhook, audit, lint).
	through []esv1.GenericStore
	// pushedOnly judges only the pushed keys, not the spec's (the keys a deletion removes).
	pushedOnly bool
}

// addPushEntries puts into the input every remote key a PushSecret writes, once per store
// it is pushed to, in the shape of an ExternalSecret's entries (policy/paths.go):
//
//	input.stores:  {"SecretStore/name": store, ...}: every store a key is pushed to
//	input.entries: [{path, key, find: false, store, provider, names, relative, scope,
//	                 leadingSlashOptional, problem}]
//
// data[] goes to every store of spec.secretStoreRefs (or of to.through), dataTo[] with a
// remoteKey to its own storeRef. A ref that resolves to no store (missing, or a labelSelector
// that matches none) leaves store "" and the key judged as written, so that a key is never
// judged by nothing.
func (b *Builder) addPushEntries(ctx context.Context, ps *esv1alpha1.PushSecret, in Input, to pushTargets,
	pushed []PushedKey) error {
	eb := &pushEntries{b: b, ns: ps.Namespace, resolved: map[string][]storeID{}, stores: map[string]any{}, list: []any{}}
	if !to.pushedOnly {
		if err := eb.addSpec(ctx, ps, to.through); err != nil {
			return err
		}
	}
	for _, p := range pushed {
		id := ""
		if p.Store != nil {
			id = p.Store.GetKind() + "/" + p.Store.GetName()
		}
		if err := eb.add(p.Path, p.RemoteKey, storeID{id: id, store: p.Store}); err != nil {
			return err
		}
	}
	in["stores"], in["entries"] = eb.stores, eb.list
	return nil
}

// addSpec describes the remote keys of spec.data (through the stores given, else those
// spec.secretStoreRefs resolve to) and of spec.dataTo entries that name one.
func (eb *pushEntries) addSpec(ctx context.Context, ps *esv1alpha1.PushSecret, through []esv1.GenericStore) error {
	var targets []storeID
	if through != nil {
		for _, s := range through {
			targets = append(targets, storeID{id: s.GetKind() + "/" + s.GetName(), store: s})
		}
	} else {
		var err error
		if targets, err = eb.resolve(ctx, ps.Spec.SecretStoreRefs...); err != nil {
			return err
		}
	}
	for i, d := range ps.Spec.Data {
		field := fmt.Sprintf("spec.data[%d].match.remoteRef.remoteKey", i)
		if err := eb.addAll(field, d.Match.RemoteRef.RemoteKey, targets); err != nil {
			return err
		}
	}
	for i, d := range ps.Spec.DataTo {
		if d.RemoteKey == "" || d.StoreRef == nil {
			continue // per-key mode: the controller passes the keys it writes (pushed)
		}
		to, err := eb.resolve(ctx, *d.StoreRef)
		if err != nil {
			return err
		}
		if err := eb.addAll(fmt.Sprintf("spec.dataTo[%d].remoteKey", i), d.RemoteKey, to); err != nil {
			return err
		}
	}
	return nil
}

// storeID is a resolved store and its input id ("SecretStore/name"); both empty for a ref
// that resolves to no store.
type storeID struct {
	id    string
	store esv1.GenericStore
}

// pushEntries gathers input.entries and input.stores for one PushSecret.
type pushEntries struct {
	b        *Builder
	ns       string
	resolved map[string][]storeID // by ref, so that a ref repeated in dataTo is read once
	stores   map[string]any
	list     []any
}

// addAll describes one remote key written to each of targets (one entry judged as written
// when there are none).
func (eb *pushEntries) addAll(field, key string, targets []storeID) error {
	if len(targets) == 0 {
		targets = []storeID{{}}
	}
	for _, t := range targets {
		if err := eb.add(field, key, t); err != nil {
			return err
		}
	}
	return nil
}

// add describes one remote key written through one store, as the backend names it.
func (eb *pushEntries) add(field, key string, t storeID) error {
	e, err := keyEntry(field, key, false, t.id, t.store, eb.stores, eb.b.Stores)
	if err != nil {
		return err
	}
	eb.list = append(eb.list, e)
	return nil
}

// resolve returns the stores refs name, by name or labelSelector, as ESO resolves them. A
// store that does not exist or that this installation may not read is left out (the
// controller refuses it with a reason); a ref none of whose stores resolve adds none.
func (eb *pushEntries) resolve(ctx context.Context, refs ...esv1alpha1.PushSecretStoreRef) ([]storeID, error) {
	var out []storeID
	for _, ref := range refs {
		key := fmt.Sprintf("%s/%s/%v", ref.Kind, ref.Name, ref.LabelSelector)
		found, ok := eb.resolved[key]
		if !ok {
			var err error
			if found, err = eb.b.pushStores(ctx, eb.ns, ref); err != nil {
				return nil, err
			}
			eb.resolved[key] = found
		}
		for _, s := range found {
			if !slices.ContainsFunc(out, func(o storeID) bool { return o.id == s.id }) {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// pushStores reads the stores one ref names: every store of the kind whose labels match the
// selector (a SecretStore in the namespace, a ClusterSecretStore anywhere), else the store
// of that name. The selector wins over a name in the same ref, as in the controller (and
// ESO): a ref that names a harmless store and selects another is judged through the one
// written to.
func (b *Builder) pushStores(ctx context.Context, namespace string,
	ref esv1alpha1.PushSecretStoreRef) ([]storeID, error) {
	kind := ref.Kind
	if kind == "" {
		kind = esv1.SecretStoreKind
	}
	if ref.LabelSelector == nil {
		if ref.Name == "" {
			return nil, nil
		}
		named := esv1.SecretStoreRef{Name: ref.Name, Kind: kind}
		id, store, err := b.entryStore(ctx, namespace, named, map[string]esv1.GenericStore{})
		if err != nil || store == nil {
			return nil, err
		}
		return []storeID{{id: id, store: store}}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ref.LabelSelector)
	if err != nil {
		return nil, nil // the API server's validation and the controller refuse it
	}
	var out []storeID
	switch kind {
	case esv1.SecretStoreKind:
		var list esv1.SecretStoreList
		err = b.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel})
		for i := range list.Items {
			out = append(out, storeID{id: kind + "/" + list.Items[i].Name, store: &list.Items[i]})
		}
	case esv1.ClusterSecretStoreKind:
		var list esv1.ClusterSecretStoreList
		err = b.Client.List(ctx, &list, client.MatchingLabelsSelector{Selector: sel})
		for i := range list.Items {
			out = append(out, storeID{id: kind + "/" + list.Items[i].Name, store: &list.Items[i]})
		}
	}
	if apierrors.IsForbidden(err) {
		return nil, nil // an installation scoped to one namespace reads no ClusterSecretStores
	}
	if err != nil {
		return nil, fmt.Errorf("listing %ss by labelSelector: %w", kind, err)
	}
	return out, nil
}

// PushSecret returns the violations of a PushSecret and of the stores it pushes to, with
// pushed the keys of dataTo entries in per-key mode that the controller resolved. stores are
// the stores the controller resolved and is about to push to: each is judged, and the remote
// keys are judged through exactly these objects. nil (the audit, which reports stores apart)
// judges the keys through the stores spec.secretStoreRefs resolve to now.
func (g *Gate) PushSecret(ctx context.Context, ps *esv1alpha1.PushSecret, stores []esv1.GenericStore,
	pushed ...PushedKey) ([]Violation, error) {
	return g.pushSecret(ctx, ps, stores, pushTargets{through: stores}, pushed)
}

// PushSecretDeletes returns the violations of deleting keys, remote keys a PushSecret pushed
// earlier (status.syncedPushSecrets), through store as it is now: the store's own, and the
// PushSecret's rules with keys as its only entries. What was pushed passed the guardrails
// through the store as it was then; a store edited since (another prefix, another mount,
// another backend under the same name) would delete other keys than those, and a namespace's
// narrowed prefixes no longer cover them.
func (g *Gate) PushSecretDeletes(ctx context.Context, ps *esv1alpha1.PushSecret, store esv1.GenericStore,
	keys []PushedKey) ([]Violation, error) {
	stores := []esv1.GenericStore{store}
	return g.pushSecret(ctx, ps, stores, pushTargets{through: stores, pushedOnly: true}, keys)
}

func (g *Gate) pushSecret(ctx context.Context, ps *esv1alpha1.PushSecret, stores []esv1.GenericStore,
	to pushTargets, pushed []PushedKey) ([]Violation, error) {
	var vs []Violation
	for _, s := range stores {
		own, err := g.Store(ctx, s)
		if err != nil {
			return nil, err
		}
		vs = append(vs, own...)
	}
	in, err := g.Builder.forPushSecret(ctx, ps, g.op(), to, pushed)
	if err != nil {
		return nil, err
	}
	own, err := g.evaluate(ctx, in)
	return append(vs, own...), err
}
