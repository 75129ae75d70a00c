package sharding

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
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
