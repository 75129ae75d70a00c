package externalsecret

import (
	"context"
	"slices"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	clientfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/fake"
)

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := esv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func testStore(name string) *esv1.SecretStore {
	return &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, UID: k8stypes.UID("uid-" + name), Generation: 1},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{
			Data: []esv1.FakeProviderData{{Key: "k", Value: "v"}},
		}}},
	}
}

// syncedES is an ExternalSecret synced a minute ago whose Secret is intact, reading from
// main and, through a sourceRef only, from shared.
func syncedES(now time.Time) *esv1.ExternalSecret {
	es := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app", Generation: 1},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "main"},
			Target:         esv1.ExternalSecretTarget{CreationPolicy: esv1.CreatePolicyNone},
			Data: []esv1.ExternalSecretData{
				{SecretKey: "a", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "k"}},
				{SecretKey: "b", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "k"}, SourceRef: &esv1.StoreSourceRef{SecretStoreRef: esv1.SecretStoreRef{Name: "shared"}}},
			},
		},
	}
	es.Status.SyncedResourceVersion = syncVersion(es)
	es.Status.RefreshTime = metav1.NewTime(now.Add(-time.Minute))
	apimeta.SetStatusCondition(&es.Status.Conditions, metav1.Condition{Type: esv1.ConditionReady, Status: metav1.ConditionTrue, Reason: esv1.ReasonSecretSynced, ObservedGeneration: 1})
	return es
}

func readyCondition(store *esv1.SecretStore, status metav1.ConditionStatus, at time.Time) {
	store.Status.Conditions = []metav1.Condition{{Type: esv1.ConditionReady, Status: status, Reason: "x", ObservedGeneration: store.Generation, LastTransitionTime: metav1.NewTime(at)}}
}

// A synced ExternalSecret syncs at once when a store it reads from (its own, or one named
// only in a sourceRef) is deleted or broke since its last sync; otherwise it waits for its
// refresh.
func TestSyncDue_StoreGoneOrBrokenSyncsAtOnce(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name   string
		stores func() []client.Object
		want   dueKind
	}{
		{"both stores fine", func() []client.Object { return []client.Object{testStore("main"), testStore("shared")} }, notDue},
		{"main store deleted", func() []client.Object { return []client.Object{testStore("shared")} }, dueNow},
		{"sourceRef store deleted", func() []client.Object { return []client.Object{testStore("main")} }, dueNow},
		{"sourceRef store broke since the sync", func() []client.Object {
			s := testStore("shared")
			readyCondition(s, metav1.ConditionFalse, now)
			return []client.Object{testStore("main"), s}
		}, dueNow},
		{"store broken before the sync (reads worked)", func() []client.Object {
			s := testStore("main")
			readyCondition(s, metav1.ConditionFalse, now.Add(-time.Hour))
			return []client.Object{s, testStore("shared")}
		}, notDue},
		{"store status of an older spec", func() []client.Object {
			s := testStore("main")
			readyCondition(s, metav1.ConditionFalse, now)
			s.Generation = 2
			return []client.Object{s, testStore("shared")}
		}, notDue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clientfake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(tc.stores()...).Build()
			r := &Reconciler{Client: c, Clock: clocktesting.NewFakePassiveClock(now)}
			got, _, err := r.syncDue(context.Background(), syncedES(now), c)
			if err != nil || got != tc.want {
				t.Errorf("syncDue = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// Deleting a store requeues every ExternalSecret that reads from it (sourceRef included)
// and leaves nothing of it in the client cache.
func TestStoreEvents_DeleteRequeuesUsersAndForgetsTheStore(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	viaSourceRef := syncedES(now)
	viaSourceRef.Name, viaSourceRef.Spec.SecretStoreRef.Name = "other", "elsewhere"
	unrelated := syncedES(now)
	unrelated.Name, unrelated.Spec.Data = "unrelated", unrelated.Spec.Data[:1]
	unrelated.Spec.SecretStoreRef.Name = "elsewhere"
	c := clientfake.NewClientBuilder().WithScheme(testScheme(t)).
		WithObjects(syncedES(now), viaSourceRef, unrelated).
		WithIndex(&esv1.ExternalSecret{}, storeRefIndex, func(o client.Object) []string { return storeKeys(o.(*esv1.ExternalSecret)) }).
		Build()
	cache := providers.NewClientCache(providers.NewRegistry(fake.New()), c, time.Hour, providers.ReaderOptions{})
	store := testStore("shared")
	store.TypeMeta = metav1.TypeMeta{Kind: esv1.SecretStoreKind}
	if _, err := cache.Get(ctx, store, "team"); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: c, Providers: cache}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	r.storeEvents().Delete(ctx, event.DeleteEvent{Object: store}, q)

	if cache.Holds(store.UID) {
		t.Error("the client cache still holds the deleted store")
	}
	var got []string
	for q.Len() > 0 {
		req, _ := q.Get()
		got = append(got, req.Name)
		q.Done(req)
	}
	slices.Sort(got)
	if want := []string{"app", "other"}; !slices.Equal(got, want) {
		t.Errorf("requeued %v, want %v", got, want)
	}
}
