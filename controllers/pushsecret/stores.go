package pushsecret

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/storeref"
	"github.com/vigil-dev/vigil/internal/stores"
	"github.com/vigil-dev/vigil/providers"
)

// resolveStores returns the stores spec.secretStoreRefs names (by name, or every store of
// the kind whose labels match), sorted by Kind/name: ClusterSecretStores only when their
// conditions admit the namespace, as for an ExternalSecret; stores of another controller
// class and stores being deleted are left out, as ESO does. More stores than the limit is a
// refusal.
func (r *Reconciler) resolveStores(ctx context.Context, ps *esv1alpha1.PushSecret) ([]esv1.GenericStore, error) {
	found := map[string]esv1.GenericStore{}
	for i, ref := range ps.Spec.SecretStoreRefs {
		var list []esv1.GenericStore
		var err error
		if ref.LabelSelector != nil {
			list, err = r.listStores(ctx, ps, i, ref)
		} else {
			var s esv1.GenericStore
			s, err = r.getStore(ctx, ps, ref)
			list = []esv1.GenericStore{s}
		}
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			if storeref.Handles(r.ControllerClass, s) && s.GetDeletionTimestamp().IsZero() {
				found[storeKey(s)] = s
			}
		}
	}
	if n := len(found); n > r.limits().MaxStores {
		return nil, outcome.Terminal(esv1alpha1.ReasonErrored, fmt.Errorf(
			"spec.secretStoreRefs select %d stores, more than the %d one PushSecret may push to; "+
				"narrow the labelSelector or split the PushSecret", n, r.limits().MaxStores))
	}
	out := make([]esv1.GenericStore, 0, len(found))
	for _, k := range slices.Sorted(maps.Keys(found)) {
		out = append(out, found[k])
	}
	return out, nil
}

// getStore returns the store a ref names, as the PushSecret's namespace uses it.
func (r *Reconciler) getStore(
	ctx context.Context, ps *esv1alpha1.PushSecret, ref esv1alpha1.PushSecretStoreRef,
) (esv1.GenericStore, error) {
	if ref.Name == "" {
		return nil, outcome.Terminal(esv1alpha1.ReasonErrored,
			errors.New("a spec.secretStoreRefs entry sets neither name nor labelSelector"))
	}
	if r.NoClusterStores && ref.Kind == esv1.ClusterSecretStoreKind {
		return nil, outcome.Terminal(esv1alpha1.ReasonErrored, fmt.Errorf(
			"ClusterSecretStore %q cannot be used: this Vigil installation is scoped to one namespace; "+
				"use a SecretStore of the namespace", ref.Name))
	}
	store, err := storeref.Get(ctx, r.Client, esv1.SecretStoreRef{Name: ref.Name, Kind: ref.Kind}, ps.Namespace)
	return store, reason(err)
}

// listStores returns the stores of a ref's kind whose labels its selector matches: the
// SecretStores of the namespace, or the ClusterSecretStores that admit the namespace.
func (r *Reconciler) listStores(
	ctx context.Context, ps *esv1alpha1.PushSecret, i int, ref esv1alpha1.PushSecretStoreRef,
) ([]esv1.GenericStore, error) {
	sel, err := metav1.LabelSelectorAsSelector(ref.LabelSelector)
	if err != nil {
		return nil, outcome.Terminal(esv1alpha1.ReasonErrored,
			fmt.Errorf("spec.secretStoreRefs[%d].labelSelector: %w", i, err))
	}
	if ref.Kind != esv1.ClusterSecretStoreKind {
		var list esv1.SecretStoreList
		if err := r.Client.List(ctx, &list, client.InNamespace(ps.Namespace),
			client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, err
		}
		out := make([]esv1.GenericStore, 0, len(list.Items))
		for j := range list.Items {
			out = append(out, &list.Items[j])
		}
		return out, nil
	}
	if r.NoClusterStores {
		return nil, nil
	}
	return r.listClusterStores(ctx, ps, sel)
}

// listClusterStores returns the ClusterSecretStores a selector matches that admit the
// PushSecret's namespace (spec.conditions); the others are not the namespace's to use.
func (r *Reconciler) listClusterStores(
	ctx context.Context, ps *esv1alpha1.PushSecret, sel labels.Selector,
) ([]esv1.GenericStore, error) {
	var list esv1.ClusterSecretStoreList
	if err := r.Client.List(ctx, &list, client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, types.NamespacedName{Name: ps.Namespace}, &ns); err != nil {
		return nil, fmt.Errorf("reading namespace %q: %w", ps.Namespace, err)
	}
	var out []esv1.GenericStore
	for j := range list.Items {
		ok, err := stores.Allows(list.Items[j].Spec.Conditions, &ns)
		if err == nil && ok {
			out = append(out, &list.Items[j])
		}
	}
	return out, nil
}

// pusher returns the write side of a store's client. The caller has checked the policies.
func (r *Reconciler) pusher(
	ctx context.Context, ps *esv1alpha1.PushSecret, store esv1.GenericStore,
) (providers.Pusher, error) {
	reader, err := r.Providers.Get(ctx, store, ps.Namespace)
	if err != nil {
		var cfg *providers.ConfigError
		if errors.As(err, &cfg) {
			return nil, outcome.Terminal(esv1alpha1.ReasonErrored, fmt.Errorf("%s: %w", storeKey(store), err))
		}
		return nil, outcome.Transient(esv1alpha1.ReasonErrored, fmt.Errorf("%s: %w", storeKey(store), err))
	}
	p, ok := reader.Client().(providers.Pusher)
	if !ok {
		return nil, outcome.Terminal(esv1alpha1.ReasonErrored, fmt.Errorf(
			"%s: provider %q cannot push secrets in this version of Vigil", storeKey(store),
			store.GetSpec().Provider.Name()))
	}
	return p, nil
}

// reason gives a store lookup's error the PushSecret's reason (storeref's carry the
// ExternalSecret's), keeping its kind.
func reason(err error) error {
	var e *outcome.Error
	if errors.As(err, &e) {
		return &outcome.Error{Kind: e.Kind, Reason: esv1alpha1.ReasonErrored, Err: e.Err, After: e.After}
	}
	return err
}
