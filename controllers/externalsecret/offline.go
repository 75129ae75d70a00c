package externalsecret

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/target"
	"github.com/vigil-dev/vigil/internal/safetpl"
)

// RenderOffline returns the Secret a sync of es would write when its store returns fetched
// (the keys and values the template sees, after spec.data and spec.dataFrom), with no
// cluster and no provider: `vigil template`. It runs the controller's own steps, the
// template (with engine's functions and limits) and the write, against an in-memory
// cluster that holds objects: the ConfigMaps and Secrets templateFrom reads and, for
// creationPolicy Merge or an update, the target Secret. Errors are the controller's: they
// name the field and the limit, never a value. creationPolicy None writes no Secret (nil).
func RenderOffline(ctx context.Context, engine *safetpl.Engine, es *esv1.ExternalSecret, fetched map[string][]byte,
	objects ...client.Object) (*corev1.Secret, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := esv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	es = es.DeepCopy()
	cluster := fake.NewClientBuilder().WithScheme(scheme).WithObjects(append(objects, es)...).Build()
	r := &Reconciler{Client: cluster, APIReader: cluster, Events: &events.FakeRecorder{}, Templates: engine}
	out, err := r.renderTemplate(ctx, es, fetched)
	if err != nil {
		return nil, err
	}
	if _, err := r.writeSecret(ctx, es, out, 0); err != nil {
		return nil, err
	}
	if es.Spec.Target.CreationPolicy == esv1.CreatePolicyNone {
		return nil, nil
	}
	var s corev1.Secret
	if err := cluster.Get(ctx, types.NamespacedName{Namespace: es.Namespace, Name: target.Name(es)}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
