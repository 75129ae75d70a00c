package externalsecret

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	clientfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// A pass right after a sync may read a cache that lags the API server. It must not sync
// again (a generator would issue a second lease) when the API server shows the sync done;
// it still syncs when the API server agrees that one is due. The first sync and the
// periodic refresh of an ExternalSecret without a generator whose cached copy shows this
// process's last status write are not confirmed (the API server is not read).
func TestDue_ConfirmsWithTheAPIServerWhenTheCacheLags(t *testing.T) {
	now := time.Now()
	synced := func() *esv1.ExternalSecret {
		es := syncedES(now)
		es.Spec.Target.CreationPolicy = esv1.CreatePolicyOwner
		es.ResourceVersion = "7"
		return es
	}
	unsynced := func() *esv1.ExternalSecret {
		es := synced()
		es.ResourceVersion = "6"
		es.Status = esv1.ExternalSecretStatus{}
		return es
	}
	generator := func(es *esv1.ExternalSecret) *esv1.ExternalSecret {
		es.Spec.DataFrom = []esv1.ExternalSecretDataFromRemoteRef{{SourceRef: &esv1.StoreGeneratorSourceRef{
			GeneratorRef: &esv1.GeneratorRef{Kind: "Password", Name: "pw"}}}}
		return es
	}
	withGenerator := func() *esv1.ExternalSecret { return generator(unsynced()) }
	// stale: synced, but its refresh interval (1h, the default) has passed.
	stale := func() *esv1.ExternalSecret {
		es := synced()
		es.ResourceVersion = "6"
		es.Status.RefreshTime = metav1.NewTime(now.Add(-2 * time.Hour))
		return es
	}
	data := map[string][]byte{"a": []byte("v"), "b": []byte("v")}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app",
			Annotations: map[string]string{esv1.AnnotationDataHash: dataHash(corev1.SecretTypeOpaque, data)}},
		Type: corev1.SecretTypeOpaque, Data: data,
	}
	for _, tc := range []struct {
		name        string
		cached, api []client.Object
		ours        bool // this process wrote a status to it
		want        dueKind
	}{
		{"cache has not seen the status of this process's sync",
			[]client.Object{unsynced()}, []client.Object{synced(), secret.DeepCopy()}, true, notDue},
		{"cache has not seen the Secret written",
			[]client.Object{synced()}, []client.Object{synced(), secret.DeepCopy()}, false, notDue},
		{"API server agrees the Secret is gone",
			[]client.Object{synced()}, []client.Object{synced()}, false, dueNow},
		{"API server agrees the sync is due",
			[]client.Object{unsynced()}, []client.Object{unsynced(), secret.DeepCopy()}, true, dueNow},
		{"first sync with a generator is confirmed",
			[]client.Object{withGenerator()}, []client.Object{synced(), secret.DeepCopy()}, false, notDue},
		// The API server here says synced: a first sync that read it would not sync.
		{"first sync without a generator reads only the cache",
			[]client.Object{unsynced()}, []client.Object{synced(), secret.DeepCopy()}, false, dueNow},
		// Here too the API server says refreshed a moment ago.
		{"periodic refresh without a generator reads only the cache",
			[]client.Object{stale(), secret.DeepCopy()}, []client.Object{synced(), secret.DeepCopy()}, false, duePeriodic},
		{"periodic refresh whose cached copy lags this process's write is confirmed",
			[]client.Object{stale(), secret.DeepCopy()}, []client.Object{synced(), secret.DeepCopy()}, true, notDue},
		{"periodic refresh with a generator is confirmed",
			[]client.Object{generator(stale()), secret.DeepCopy()}, []client.Object{synced(), secret.DeepCopy()}, false, notDue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stores := []client.Object{testStore("main"), testStore("shared")}
			build := func(objs []client.Object) client.Client {
				return clientfake.NewClientBuilder().WithScheme(testScheme(t)).
					WithObjects(append(objs, stores...)...).WithStatusSubresource(&esv1.ExternalSecret{}).Build()
			}
			cache, api := build(tc.cached), build(tc.api)
			r := &Reconciler{Client: cache, APIReader: api, Clock: clocktesting.NewFakePassiveClock(now)}
			if tc.ours {
				// The resourceVersion its write returned: newer than the cache's copy.
				r.written.Store(client.ObjectKey{Namespace: "team", Name: "app"}, "8")
			}
			es := &esv1.ExternalSecret{}
			if err := cache.Get(context.Background(), client.ObjectKey{Namespace: "team", Name: "app"}, es); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := r.syncDue(context.Background(), es, cache); got == notDue {
				t.Fatalf("the cache alone says %v; the case needs a lagging cache", got)
			}
			got, _, err := r.due(context.Background(), es)
			if err != nil || got != tc.want {
				t.Fatalf("due = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
