package e2e

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/test/harness"
)

// The controller's cache holds a managed Secret's metadata and the hash of its data, not its
// keys or values, and no unmanaged Secret at all: the values a sync wrote live on the API server only. The
// cache here is built with the controller's own options against the real API server. An
// ExternalSecret is cached without the copy of itself that `kubectl apply` annotates it with.
func TestMemory_CacheHoldsHashesNotValues(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns, key := setupDB(t, "cached-value-7", nil)
	h.WaitReason(key, esv1.ReasonSecretSynced)
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unmanaged"},
		StringData: map[string]string{"token": "unmanaged-value-9"}})
	// As `kubectl apply` leaves it: a copy of the applied object in an annotation.
	applied := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"`+
		corev1.LastAppliedConfigAnnotation+`":"{\"kind\":\"ExternalSecret\"}","team":"payments"}}}`))
	if err := cp.Client.Patch(ctx, &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: key.Name}}, applied); err != nil {
		t.Fatal(err)
	}

	opts := manager.CacheOptions(harness.TestOptions())
	opts.Scheme = cp.Client.Scheme()
	opts.DefaultNamespaces = map[string]cache.Config{ns: {}}
	c, err := cache.New(cp.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = c.Start(cctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("the cache did not start")
	}
	var cached corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "db"}, &cached); err != nil {
		t.Fatalf("reading the managed Secret from the cache: %v", err)
	}
	for k, v := range cached.Data {
		if k != "" || v != nil {
			t.Errorf("cached Secret holds key %q (value length %d); want neither keys nor values", k, len(v))
		}
	}
	if cached.Annotations[esv1.AnnotationDataHash] == "" {
		t.Error("cached Secret lost its data-hash annotation")
	}
	if real := h.Secret(ns, "db"); string(real.Data["password"]) != "cached-value-7" {
		t.Error("the API server's Secret does not hold the value")
	}
	// An ExternalSecret is cached without kubectl's copy of it, and with its other annotations.
	var es esv1.ExternalSecret
	if err := c.Get(ctx, key, &es); err != nil {
		t.Fatalf("reading the ExternalSecret from the cache: %v", err)
	}
	if _, ok := es.Annotations[corev1.LastAppliedConfigAnnotation]; ok || es.Annotations["team"] != "payments" {
		t.Errorf("cached ExternalSecret's annotations %v: want team=payments and no %s", es.Annotations, corev1.LastAppliedConfigAnnotation)
	}
	err = c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "unmanaged"}, &corev1.Secret{})
	if err == nil {
		t.Error("an unmanaged Secret is in the cache")
	}
	// The cache marks stripped data with the empty key, which the API server refuses: a
	// Secret read from it never looks stripped, and a stripped copy is never written back.
	err = cp.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "empty-key"},
		Data: map[string][]byte{"": nil}})
	if !apierrors.IsInvalid(err) {
		t.Errorf("creating a Secret with an empty key: %v, want the API server's refusal", err)
	}
}
