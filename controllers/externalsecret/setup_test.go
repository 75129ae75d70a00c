package externalsecret

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// A change of any store an ExternalSecret reads from requeues it: its own and those of its
// sourceRefs, each once.
func TestStoreKeys_IncludeSourceRefStores(t *testing.T) {
	es := &esv1.ExternalSecret{Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "main"},
		Data: []esv1.ExternalSecretData{
			{SourceRef: &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Name: "shared", Kind: esv1.ClusterSecretStoreKind}}},
			{SourceRef: &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Name: "main", Kind: esv1.SecretStoreKind}}},
		},
		DataFrom: []esv1.ExternalSecretDataFromRemoteRef{
			{SourceRef: &esv1.StoreGeneratorSourceRef{SecretStoreRef: &esv1.SecretStoreRef{Name: "other"}}},
			{SourceRef: &esv1.StoreGeneratorSourceRef{GeneratorRef: &esv1.GeneratorRef{Kind: "Password", Name: "pw"}}},
		},
	}}
	want := []string{"ClusterSecretStore/shared", "SecretStore/main", "SecretStore/other"}
	if got := storeKeys(es); !slices.Equal(got, want) {
		t.Errorf("storeKeys = %v, want %v", got, want)
	}
}

// The informer's first list (a start, a takeover) queues the periodic refreshes it finds due
// behind ExternalSecrets that wait for a change: one created or edited while the controller
// was down goes first, as it would while the controller runs. One whose last attempt failed
// and that nobody changed since is not put ahead at every restart. Later events keep
// controller-runtime's priorities.
func TestESEvents_FirstListQueuesChangesAheadOfRefreshes(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("test")
	defer q.ShutDown()
	synced := func(name string) *esv1.ExternalSecret {
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Generation: 1}}
		es.Status.SyncedResourceVersion = syncVersion(es)
		es.Status.Conditions = []metav1.Condition{{Type: esv1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: esv1.ReasonSecretSynced, ObservedGeneration: 1}}
		return es
	}
	edited := synced("edited")
	edited.Generation = 2
	failed := synced("failed")
	failed.Status.Conditions[0].Status, failed.Status.Conditions[0].Reason = metav1.ConditionFalse, esv1.ReasonSecretSyncedError
	failedThenEdited := failed.DeepCopy()
	failedThenEdited.Name, failedThenEdited.Generation = "failed-then-edited", 2
	forced := synced("forced")
	forced.Annotations = map[string]string{"force-sync": "1"}
	createdOnce := synced("created-once")
	createdOnce.Spec.RefreshPolicy = esv1.RefreshPolicyCreatedOnce
	createdOnce.Generation = 2 // later edits of a CreatedOnce ExternalSecret sync nothing

	h := &esEvents{}
	ctx := t.Context()
	for _, es := range []*esv1.ExternalSecret{synced("due-1"), edited, synced("due-2"), createdOnce, failed,
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "new"}}, forced, failedThenEdited} {
		h.Create(ctx, event.CreateEvent{Object: es, IsInInitialList: true}, q)
	}
	// A create after the first list is a change, whatever its status says.
	h.Create(ctx, event.CreateEvent{Object: synced("created-later")}, q)

	low := handler.LowPriority
	want := map[string]int{"edited": 0, "new": 0, "forced": 0, "failed-then-edited": 0, "created-later": 0,
		"due-1": low, "due-2": low, "created-once": low, "failed": low}
	var order []string
	for range want {
		req, prio, _ := q.GetWithPriority()
		if prio != want[req.Name] {
			t.Errorf("%s queued at priority %d, want %d", req.Name, prio, want[req.Name])
		}
		order = append(order, req.Name)
		q.Done(req)
	}
	for _, name := range []string{"due-1", "due-2", "created-once", "failed"} {
		if slices.Index(order, name) < 5 {
			t.Errorf("order %v: %s should come after every change", order, name)
		}
	}
}

// The reconciler's logs name the ExternalSecret as controller-runtime's builder names the
// object of a controller built with For().
func TestLogConstructor_NamesTheExternalSecret(t *testing.T) {
	var got string
	base := funcr.New(func(prefix, args string) { got = args }, funcr.Options{})
	logConstructor(base)(&reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "db"}}).Info("x")
	for _, kv := range []string{`"controller"="externalsecret"`, `"controllerGroup"="external-secrets.io"`,
		`"controllerKind"="ExternalSecret"`, `"ExternalSecret"={"name"="db" "namespace"="ns"}`, `"namespace"="ns"`, `"name"="db"`} {
		if !strings.Contains(got, kv) {
			t.Errorf("log %s lacks %s", got, kv)
		}
	}
}
