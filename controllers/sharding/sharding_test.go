package sharding

import (
	"fmt"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Every object has one shard, the same in every replica, and a thousand objects spread over
// four shards without leaving one nearly empty.
func TestOf_StableAndSpread(t *testing.T) {
	counts := make([]int, 4)
	for i := range 1000 {
		key := types.NamespacedName{Namespace: fmt.Sprintf("ns-%d", i%7), Name: fmt.Sprintf("es-%d", i)}
		s := Of(key, 4)
		if s < 0 || s >= 4 || Of(key, 4) != s {
			t.Fatalf("%v: shard %d", key, s)
		}
		counts[s]++
	}
	for i, n := range counts {
		if n < 150 {
			t.Errorf("shard %d holds %d of 1000 objects: %v", i, n, counts)
		}
	}
	if Of(types.NamespacedName{Namespace: "a", Name: "b"}, 1) != 0 {
		t.Error("one shard: not shard 0")
	}
}

// A shard label counts only when it names a shard of this installation, spelled as Vigil
// writes it; the labeller's selector takes exactly the objects whose label does not.
func TestLabelShard_OnlyValidShards(t *testing.T) {
	cases := map[string]bool{"0": true, "3": true, "4": false, "-1": false, "01": false, "x": false, "": false}
	for v, want := range cases {
		l := map[string]string{Label: v}
		if _, ok := labelShard(l, 4); ok != want {
			t.Errorf("label %q: valid %v, want %v", v, ok, want)
		}
		if got := unassignedSelector(4).Matches(labels.Set(l)); got == want {
			t.Errorf("label %q: selected for labelling %v, want %v", v, got, !want)
		}
	}
	if !unassignedSelector(4).Matches(labels.Set{}) {
		t.Error("an object without the label is not selected for labelling")
	}
}

// A request dropped while its shard was led elsewhere comes back, when the shard is won,
// at the highest priority it was added with: an ExternalSecret that waits for a change,
// delivered by the shard's cache while the shard is being won, stays ahead of the refreshes.
func TestQueue_GainedShardKeepsPriorities(t *testing.T) {
	s := New(Options{Count: 2}, nil, logr.Discard())
	q := s.NewQueue("test", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	pq := q.(priorityqueue.PriorityQueue[reconcile.Request])
	var inShard1 []reconcile.Request
	for i := 0; len(inShard1) < 3; i++ {
		req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: fmt.Sprintf("es-%d", i)}}
		if Of(req.NamespacedName, 2) == 1 {
			inShard1 = append(inShard1, req)
		}
	}
	due, changed, both := inShard1[0], inShard1[1], inShard1[2]
	low, normal := -100, 0
	pq.AddWithOpts(priorityqueue.AddOpts{Priority: &low}, due, both)
	pq.AddWithOpts(priorityqueue.AddOpts{Priority: &normal}, changed)
	pq.AddWithOpts(priorityqueue.AddOpts{Priority: &normal}, both)
	if n := q.Len(); n != 0 {
		t.Fatalf("%d requests queued for a shard this replica does not lead, want 0", n)
	}

	s.mu.Lock()
	s.held[1] = true
	s.mu.Unlock()
	for _, gained := range s.onGain {
		gained(1)
	}
	want := map[reconcile.Request]int{due: low, changed: normal, both: normal}
	for i := range len(want) {
		req, prio, _ := pq.GetWithPriority()
		if prio != want[req] {
			t.Errorf("%s queued again at priority %d, want %d", req.Name, prio, want[req])
		}
		if i < 2 && req == due {
			t.Errorf("the refresh came back before the changes")
		}
		q.Done(req)
	}
}
