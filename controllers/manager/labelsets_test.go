package manager

import (
	"fmt"
	"reflect"
	"testing"
)

func same(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// Equal label sets share the first one's map; different ones keep theirs.
func TestLabelSets_EqualSetsShareOneMap(t *testing.T) {
	var l labelSets
	first := l.shared(map[string]string{"managed": "true", "shard": "1"})
	again := l.shared(map[string]string{"shard": "1", "managed": "true"})
	if !same(first, again) {
		t.Error("an equal label set got a map of its own")
	}
	other := map[string]string{"managed": "true", "shard": "2"}
	if got := l.shared(other); !same(got, other) || got["shard"] != "2" {
		t.Errorf("a different label set came back as %v", got)
	}
	// Keys and values are kept apart: {"a":"b","c":""} is not {"a":"bc"}.
	if got := l.shared(map[string]string{"a": "b", "c": ""}); len(got) != 2 {
		t.Errorf("got %v", got)
	}
	if got := l.shared(map[string]string{"a": "bc"}); len(got) != 1 || got["a"] != "bc" {
		t.Errorf("got %v", got)
	}
	if got := l.shared(nil); got != nil {
		t.Errorf("no labels came back as %v", got)
	}
}

// A tenant's template can make label sets without end: the table starts over at its bound,
// large sets are never kept, and every set still comes back with its labels.
func TestLabelSets_AreBounded(t *testing.T) {
	var l labelSets
	for i := range maxLabelSets + 100 {
		in := map[string]string{"managed": "true", "tenant": fmt.Sprint(i)}
		if got := l.shared(in); got["tenant"] != fmt.Sprint(i) {
			t.Fatalf("set %d came back as %v", i, got)
		}
	}
	if len(l.sets) != 100 {
		t.Errorf("the table holds %d sets after %d, bound %d: want the last 100", len(l.sets), maxLabelSets+100, maxLabelSets)
	}
	// Sets seen after it started over are shared again.
	last := map[string]string{"managed": "true", "tenant": fmt.Sprint(maxLabelSets + 99)}
	if got := l.shared(last); same(got, last) {
		t.Error("a set seen after the table started over was not shared")
	}
	large := map[string]string{}
	for i := range maxSharedLabels + 1 {
		large[fmt.Sprint("k", i)] = "v"
	}
	var fresh labelSets
	fresh.shared(large)
	if len(fresh.sets) != 0 {
		t.Error("a set over maxSharedLabels labels was kept")
	}
}
