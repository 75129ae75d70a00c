package stores

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func TestAllows(t *testing.T) {
	team := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"tier": "prod"}}}
	for _, tc := range []struct {
		name  string
		conds []esv1.ClusterSecretStoreCondition
		want  bool
	}{
		{"no conditions admit every namespace", nil, true},
		{"name listed", []esv1.ClusterSecretStoreCondition{{Namespaces: []string{"other", "team-a"}}}, true},
		{"name not listed", []esv1.ClusterSecretStoreCondition{{Namespaces: []string{"other"}}}, false},
		{"selector matches", []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}}}, true},
		{"selector does not match", []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "dev"}}}}, false},
		{"regex matches", []esv1.ClusterSecretStoreCondition{{NamespaceRegexes: []string{"^team-"}}}, true},
		{"any condition is enough", []esv1.ClusterSecretStoreCondition{{Namespaces: []string{"x"}}, {NamespaceRegexes: []string{"a$"}}}, true},
	} {
		got, err := Allows(tc.conds, team)
		if err != nil || got != tc.want {
			t.Errorf("%s: Allows = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := Allows([]esv1.ClusterSecretStoreCondition{{NamespaceRegexes: []string{"("}}}, team); err == nil {
		t.Errorf("a broken regex was accepted")
	}
}

// countingReader counts the reads that reach it.
type countingReader struct {
	client.Reader
	reads int
}

func (r *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	r.reads++
	return r.Reader.Get(ctx, key, obj, opts...)
}

// Under a memo, a pass reads each store once and every caller gets that one object;
// without one, each lookup reads again; a store that does not exist is not remembered.
func TestLookup_MemoReadsEachStoreOnce(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := esv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "vault"}}
	other := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "vault"}}
	r := &countingReader{Reader: fake.NewClientBuilder().WithScheme(scheme).WithObjects(store, other).Build()}
	ctx := context.Background()
	ref := esv1.SecretStoreRef{Name: "vault"}
	lookup := func(ctx context.Context, ref esv1.SecretStoreRef) esv1.GenericStore {
		t.Helper()
		s, err := Lookup(ctx, r, ref, "team-a")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	lookup(ctx, ref)
	lookup(ctx, ref)
	if r.reads != 2 {
		t.Fatalf("without a memo: %d reads for two lookups, want 2", r.reads)
	}

	r.reads = 0
	pass := WithMemo(ctx)
	first, second := lookup(pass, ref), lookup(pass, ref)
	if r.reads != 1 || first != second {
		t.Fatalf("under a memo: %d reads for two lookups (same object: %v), want 1 read and the same object", r.reads, first == second)
	}
	// The kind is part of the key: the ClusterSecretStore of the same name is another store.
	if s := lookup(pass, esv1.SecretStoreRef{Name: "vault", Kind: esv1.ClusterSecretStoreKind}); s.GetKind() != esv1.ClusterSecretStoreKind || r.reads != 2 {
		t.Fatalf("the ClusterSecretStore vault came back as %s after %d reads, want a ClusterSecretStore and 2 reads", s.GetKind(), r.reads)
	}
	for range 2 {
		if _, err := Lookup(pass, r, esv1.SecretStoreRef{Name: "missing"}, "team-a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a missing store: %v, want ErrNotFound", err)
		}
	}
	if r.reads != 4 {
		t.Fatalf("%d reads after two lookups of a missing store, want 4 (not remembered)", r.reads)
	}
}
