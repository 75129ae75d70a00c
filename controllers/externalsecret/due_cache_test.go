package externalsecret

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	clientfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/sharding"
)

// A pass right after a sync may read a cache that lags the API server. It must not sync
// again (a generator would issue a second lease) when the API server shows the sync done;
// it still syncs when the API server agrees that one is due. Without a generator, a first
// sync of an ExternalSecret this process wrote no status to, and a periodic refresh of the
// copy this process's last status write returned, are not confirmed (the API server is
// not read).
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
		written     string // the resourceVersion this process's last status write returned
		want        dueKind
	}{
		{"cache has not seen the status of this process's sync",
			[]client.Object{unsynced()}, []client.Object{synced(), secret.DeepCopy()}, "8", notDue},
		{"cache has not seen the Secret written",
			[]client.Object{synced()}, []client.Object{synced(), secret.DeepCopy()}, "", notDue},
		{"API server agrees the Secret is gone",
			[]client.Object{synced()}, []client.Object{synced()}, "", dueNow},
		{"API server agrees the sync is due",
			[]client.Object{unsynced()}, []client.Object{unsynced(), secret.DeepCopy()}, "8", dueNow},
		{"first sync with a generator is confirmed",
			[]client.Object{withGenerator()}, []client.Object{synced(), secret.DeepCopy()}, "", notDue},
		// The API server here says synced: a first sync that read it would not sync.
		{"first sync without a generator reads only the cache",
			[]client.Object{unsynced()}, []client.Object{synced(), secret.DeepCopy()}, "", dueNow},
		// Here too the API server says refreshed a moment ago.
		{"periodic refresh of the copy this process wrote reads only the cache",
			[]client.Object{stale(), secret.DeepCopy()}, []client.Object{synced(), secret.DeepCopy()}, "6", duePeriodic},
		{"periodic refresh whose cached copy lags this process's write is confirmed",
			[]client.Object{stale(), secret.DeepCopy()}, []client.Object{synced(), secret.DeepCopy()}, "8", notDue},
		{"periodic refresh with no record of this process's write (a restart, a shard won) is confirmed",
			[]client.Object{stale(), secret.DeepCopy()}, []client.Object{synced(), secret.DeepCopy()}, "", notDue},
		// The API server here holds no Secret: read there, it would call for a sync now.
		{"a confirmed periodic refresh checks its Secret in the cache",
			[]client.Object{stale(), secret.DeepCopy()}, []client.Object{stale()}, "", duePeriodic},
		{"a confirmed periodic refresh with a generator checks its Secret in the API server",
			[]client.Object{generator(stale()), secret.DeepCopy()}, []client.Object{generator(stale())}, "", dueNow},
		{"periodic refresh with a generator is confirmed",
			[]client.Object{generator(stale()), secret.DeepCopy()}, []client.Object{synced(), secret.DeepCopy()}, "6", notDue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stores := []client.Object{testStore("main"), testStore("shared")}
			build := func(objs []client.Object) client.Client {
				return clientfake.NewClientBuilder().WithScheme(testScheme(t)).
					WithObjects(append(objs, stores...)...).WithStatusSubresource(&esv1.ExternalSecret{}).Build()
			}
			cache, api := build(tc.cached), build(tc.api)
			r := &Reconciler{Client: cache, APIReader: api, Clock: clocktesting.NewFakePassiveClock(now)}
			if tc.written != "" {
				r.written.Store(client.ObjectKey{Namespace: "team", Name: "app"}, tc.written)
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

// A replica that stops leading a shard forgets its writes to that shard's ExternalSecrets
// (their next refreshes, should it lead the shard again, are confirmed), and only those.
func TestForgetShard_DropsOnlyThatShardsRecords(t *testing.T) {
	r := &Reconciler{ShardCount: 4}
	keys := map[int][]types.NamespacedName{}
	for i := range 64 {
		key := types.NamespacedName{Namespace: "team", Name: fmt.Sprintf("app-%d", i)}
		shard := sharding.Of(key, 4)
		keys[shard] = append(keys[shard], key)
		r.written.Store(key, "1")
	}
	if len(keys[1]) == 0 || len(keys[2]) == 0 {
		t.Fatalf("64 names fell in shards %v; the test needs shards 1 and 2", keys)
	}
	r.ForgetShard(1)
	for shard, ks := range keys {
		for _, key := range ks {
			_, kept := r.written.Load(key)
			if kept == (shard == 1) {
				t.Errorf("%v (shard %d): kept = %v after forgetting shard 1", key, shard, kept)
			}
		}
	}
}
