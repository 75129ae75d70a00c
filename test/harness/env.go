package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// DefaultTimeout bounds each wait of an Env whose Timeout is zero. It is generous on
// purpose: a wait returns as soon as its signal comes, so a long bound costs nothing when
// things work and keeps a busy shared machine from failing a correct test.
const DefaultTimeout = 60 * time.Second

// Env is what tests and programs act on: a client of the control plane and, when the
// suite started them, moto and the controller's /metrics. Its methods take a context and
// return errors (for programs such as the demo); T binds it to one test and fails the test
// instead.
type Env struct {
	Client     client.Client
	Moto       *Moto         // nil when the suite runs without moto
	MetricsURL string        // the controller's /metrics; empty when not served
	Timeout    time.Duration // bound of each wait; DefaultTimeout when zero
	// NamespacePrefix starts the generated names of NewNamespace; "e2e-" when empty (the
	// e2e suite's policies admit ambient credentials in e2e-* namespaces).
	NamespacePrefix string
	// RememberValue, when set, is told every value the Env stores in a backend (PutRemote),
	// so that a suite can check after its run that none leaked into logs, events or metrics.
	RememberValue func(value string)
}

func (e *Env) timeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return DefaultTimeout
}

// Create creates the objects in order; the first failure stops it.
func (e *Env) Create(ctx context.Context, objs ...client.Object) error {
	for _, o := range objs {
		if err := e.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// Apply applies the objects of a manifest file unchanged (server-side apply) and returns
// them.
func (e *Env) Apply(ctx context.Context, path string) ([]*unstructured.Unstructured, error) {
	return Apply(ctx, e.Client, path)
}

// ForceSync sets ESO's force-sync annotation to a new value, as a user would, to make the
// controller sync the ExternalSecret now.
func (e *Env) ForceSync(ctx context.Context, key types.NamespacedName) error {
	es := &esv1.ExternalSecret{}
	if err := e.Client.Get(ctx, key, es); err != nil {
		return err
	}
	patch := client.MergeFrom(es.DeepCopy())
	if es.Annotations == nil {
		es.Annotations = map[string]string{}
	}
	es.Annotations[esv1.AnnotationForceSync] = time.Now().Format(time.RFC3339Nano)
	return e.Client.Patch(ctx, es, patch)
}

// T is an Env bound to one test: its methods fail the test (t.Fatal) when an action or a
// wait fails, and clean up what they create with t.Cleanup. Ctx is the test's context.
type T struct {
	*Env
	testing.TB
	Ctx context.Context
}

// T binds the Env to a test. The context is the test's own (canceled when it ends).
func (e *Env) T(t testing.TB) *T {
	return &T{Env: e, TB: t, Ctx: t.Context()}
}

// NewNamespace creates a namespace with a generated name (and the labels, if any) and
// deletes it when the test ends.
func (t *T) NewNamespace(labels ...map[string]string) string {
	t.Helper()
	prefix := t.NamespacePrefix
	if prefix == "" {
		prefix = "e2e-"
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	for _, l := range labels {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		for k, v := range l {
			ns.Labels[k] = v
		}
	}
	if err := t.Client.Create(t.Ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = t.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// Create creates the objects in order and fails the test on the first error.
func (t *T) Create(objs ...client.Object) {
	t.Helper()
	if err := t.Env.Create(t.Ctx, objs...); err != nil {
		t.Fatal(err)
	}
}

// CreateCluster creates cluster-scoped objects and deletes them when the test ends (a
// namespace's deletion does not take them along).
func (t *T) CreateCluster(objs ...client.Object) {
	t.Helper()
	t.Create(objs...)
	for _, o := range objs {
		t.Cleanup(func() { _ = t.Client.Delete(context.Background(), o) })
	}
}

// Apply applies the objects of a manifest file and fails the test on an error.
func (t *T) Apply(path string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := t.Env.Apply(t.Ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// Get reads an object and fails the test when it cannot.
func (t *T) Get(key types.NamespacedName, obj client.Object) {
	t.Helper()
	if err := t.Client.Get(t.Ctx, key, obj); err != nil {
		t.Fatalf("reading %T %s: %v", obj, key, err)
	}
}

// Secret reads a Secret and fails the test when it cannot.
func (t *T) Secret(ns, name string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	t.Get(types.NamespacedName{Namespace: ns, Name: name}, s)
	return s
}

// Delete deletes an object (already gone is fine) and waits until it is gone.
func (t *T) Delete(obj client.Object) {
	t.Helper()
	if err := t.Client.Delete(t.Ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("deleting %T %s: %v", obj, obj.GetName(), err)
	}
	t.WaitGone(obj)
}

// ForceSync sets the force-sync annotation of the ExternalSecret to a new value.
func (t *T) ForceSync(key types.NamespacedName) {
	t.Helper()
	if err := t.Env.ForceSync(t.Ctx, key); err != nil {
		t.Fatalf("force-syncing %s: %v", key, err)
	}
}

// Eventually waits until cond is true (errors from cond are retried) and fails the test
// with what (what was awaited) when the Env's timeout passes first.
func (t *T) Eventually(what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := WaitFor(t.Ctx, t.timeout(), cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Consistently checks that cond stays true for the whole window (see HoldsFor) and fails
// the test with what when it does not. Call it after a positive signal that the controller
// has processed the change; the window covers only what may follow that signal.
func (t *T) Consistently(what string, window time.Duration, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := HoldsFor(t.Ctx, window, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
