package externalsecret

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
// behind ExternalSecrets that wait for a change: one created, edited or failed while the
// controller was down goes first, as it would while the controller runs. Later events keep
// controller-runtime's priorities.
func TestESEvents_FirstListQueuesChangesAheadOfRefreshes(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("test")
	defer q.ShutDown()
	synced := func(name string) *esv1.ExternalSecret {
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Generation: 1}}
		es.Status.SyncedResourceVersion = syncVersion(es)
		es.Status.Conditions = []metav1.Condition{{Type: esv1.ConditionReady, Status: metav1.ConditionTrue, Reason: esv1.ReasonSecretSynced}}
		return es
	}
	edited := synced("edited")
	edited.Generation = 2
	failed := synced("failed")
	failed.Status.Conditions[0].Reason = esv1.ReasonSecretSyncedError
	forced := synced("forced")
	forced.Annotations = map[string]string{"force-sync": "1"}
	createdOnce := synced("created-once")
	createdOnce.Spec.RefreshPolicy = esv1.RefreshPolicyCreatedOnce
	createdOnce.Generation = 2 // later edits of a CreatedOnce ExternalSecret sync nothing

	h := &esEvents{}
	ctx := t.Context()
	for _, es := range []*esv1.ExternalSecret{synced("due-1"), edited, synced("due-2"), createdOnce, failed,
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "new"}}, forced} {
		h.Create(ctx, event.CreateEvent{Object: es, IsInInitialList: true}, q)
	}
	// A create after the first list is a change, whatever its status says.
	h.Create(ctx, event.CreateEvent{Object: synced("created-later")}, q)

	want := map[string]int{"edited": 0, "failed": 0, "new": 0, "forced": 0, "created-later": 0,
		"due-1": handler.LowPriority, "due-2": handler.LowPriority, "created-once": handler.LowPriority}
	var order []string
	for range want {
		req, prio, _ := q.GetWithPriority()
		if prio != want[req.Name] {
			t.Errorf("%s queued at priority %d, want %d", req.Name, prio, want[req.Name])
		}
		order = append(order, req.Name)
		q.Done(req)
	}
	if slices.Index(order, "due-1") < 5 || slices.Index(order, "due-2") < 5 || slices.Index(order, "created-once") < 5 {
		t.Errorf("order %v: the periodic refreshes should come after every change", order)
	}
}
