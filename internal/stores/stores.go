// Package stores resolves the store an ExternalSecret names and decides whether a
// ClusterSecretStore may be used from a namespace. The ExternalSecret reconciler and the
// policy input builder share it, so both see the same answer.
package stores

import (
	"context"
	"fmt"
	"regexp"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// ErrNotFound is returned (wrapped) when the named store does not exist.
var ErrNotFound = fmt.Errorf("store not found")

// ErrNotAllowed is returned (wrapped) when a ClusterSecretStore does not admit a namespace.
var ErrNotAllowed = fmt.Errorf("store does not allow this namespace")

// Get returns the store ref names, as used from namespace. A ClusterSecretStore whose
// conditions do not select the namespace yields an error wrapping ErrNotAllowed that names
// the store and the namespace.
func Get(ctx context.Context, c client.Reader, ref esv1.SecretStoreRef, namespace string) (esv1.GenericStore, error) {
	store, err := Lookup(ctx, c, ref, namespace)
	if err != nil {
		return nil, err
	}
	if store.GetKind() == esv1.ClusterSecretStoreKind {
		var ns corev1.Namespace
		if err := c.Get(ctx, types.NamespacedName{Name: namespace}, &ns); err != nil {
			return nil, fmt.Errorf("reading namespace %q: %w", namespace, err)
		}
		ok, err := Allows(store.GetSpec().Conditions, &ns)
		if err != nil {
			return nil, fmt.Errorf("ClusterSecretStore %q: %w", ref.Name, err)
		}
		if !ok {
			return nil, fmt.Errorf("ClusterSecretStore %q does not allow namespace %q: "+
				"none of its spec.conditions selects it: %w", ref.Name, namespace, ErrNotAllowed)
		}
	}
	return store, nil
}

// Kind returns the kind ref names, SecretStore when it names none, or an error for a kind
// that is no store kind.
func Kind(ref esv1.SecretStoreRef) (string, error) {
	switch ref.Kind {
	case "", esv1.SecretStoreKind:
		return esv1.SecretStoreKind, nil
	case esv1.ClusterSecretStoreKind:
		return esv1.ClusterSecretStoreKind, nil
	}
	return "", fmt.Errorf("spec.secretStoreRef.kind %q is not a store kind; use SecretStore or ClusterSecretStore",
		ref.Kind)
}

// Lookup reads the store ref names by kind and name, as used from namespace, without asking
// whether a ClusterSecretStore admits the namespace (Get does). A store that does not exist
// yields an error wrapping ErrNotFound; one this installation may not read, ErrNotAllowed.
func Lookup(ctx context.Context, c client.Reader, ref esv1.SecretStoreRef,
	namespace string) (esv1.GenericStore, error) {
	if ref.Name == "" {
		return nil, fmt.Errorf("spec.secretStoreRef.name is empty: name the SecretStore or ClusterSecretStore to read from")
	}
	kind, err := Kind(ref)
	if err != nil {
		return nil, err
	}
	var store esv1.GenericStore = &esv1.SecretStore{}
	key := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	if kind == esv1.ClusterSecretStoreKind {
		store, key.Namespace = &esv1.ClusterSecretStore{}, ""
	}
	m, _ := ctx.Value(memoKey{}).(*memo)
	if found, ok := m.get(kind, key); ok {
		return found, nil
	}
	if err := c.Get(ctx, key, store); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%s %q does not exist in %s: %w", kind, ref.Name, scope(key.Namespace), ErrNotFound)
		}
		if apierrors.IsForbidden(err) {
			// An installation scoped to one namespace has no right on ClusterSecretStores.
			return nil, fmt.Errorf(
				"%s %q cannot be used: this Vigil installation may not read it (one scoped to a namespace uses no "+
					"ClusterSecretStore); use a SecretStore of the namespace: %w", kind, ref.Name, ErrNotAllowed)
		}
		return nil, fmt.Errorf("reading %s %q: %w", kind, ref.Name, err)
	}
	m.put(kind, key, store)
	return store, nil
}

// WithMemo returns a context in which Lookup (and Get) read each store once and return the
// same object to every later caller: a sync asks for its store three times (its
// resolution, the policy input's store and its entries), and each read from the cache was a
// deep copy, a sixth of the controller's allocations with a large store; the steps also see
// the same version of the store. A store returned under a memo is shared: callers read it
// and copy it before any change (as the Vault provider's iam login does). A memo serves one
// short stretch of work through one reader: a store deleted meanwhile stays visible to it.
func WithMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &memo{stores: map[memoEntry]esv1.GenericStore{}})
}

type memoKey struct{}

type memoEntry struct {
	kind string
	key  types.NamespacedName
}

type memo struct {
	mu     sync.Mutex
	stores map[memoEntry]esv1.GenericStore
}

// get is the store kept for kind and key; a nil memo keeps none.
func (m *memo) get(kind string, key types.NamespacedName) (esv1.GenericStore, bool) {
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.stores[memoEntry{kind, key}]
	return s, ok
}

func (m *memo) put(kind string, key types.NamespacedName, s esv1.GenericStore) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stores[memoEntry{kind, key}] = s
}

func scope(namespace string) string {
	if namespace == "" {
		return "the cluster"
	}
	return "namespace " + namespace
}

// Allows reports whether a ClusterSecretStore's conditions admit a namespace. No
// conditions admit every namespace (ESO's default); otherwise one matching condition is
// enough, and within a condition any of selector, name list or regex may match.
func Allows(conds []esv1.ClusterSecretStoreCondition, ns *corev1.Namespace) (bool, error) {
	if len(conds) == 0 {
		return true, nil
	}
	for i, c := range conds {
		if c.NamespaceSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(c.NamespaceSelector)
			if err != nil {
				return false, fmt.Errorf("spec.conditions[%d].namespaceSelector: %w", i, err)
			}
			if sel.Matches(labels.Set(ns.Labels)) {
				return true, nil
			}
		}
		for _, n := range c.Namespaces {
			if n == ns.Name {
				return true, nil
			}
		}
		for j, expr := range c.NamespaceRegexes {
			re, err := regexp.Compile(expr)
			if err != nil {
				return false, fmt.Errorf("spec.conditions[%d].namespaceRegexes[%d]: %w", i, j, err)
			}
			if re.MatchString(ns.Name) {
				return true, nil
			}
		}
	}
	return false, nil
}
