package sharding

import (
	"strconv"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
)

// Label carries an object's shard, so that each replica's informers list and watch only
// the objects of the shards it leads. The controller writes it on ExternalSecrets (from the
// hash of namespace/name, Of) and on the Secrets it manages (their ExternalSecret's shard).
// It is never trusted: a value that differs from the hash is corrected by the replica that
// caches the object under that value, so a tenant who writes it cannot move an object to
// another shard (at most the object waits for the correction).
const Label = "vigil.dev/shard"

// LabelValue is the shard label an object with this key carries.
func LabelValue(key types.NamespacedName, count int) string {
	return strconv.Itoa(Of(key, count))
}

// shardSelector selects the objects labelled with shard i, within sel (nil: all).
func shardSelector(sel labels.Selector, i int) labels.Selector {
	req, err := labels.NewRequirement(Label, selection.Equals, []string{strconv.Itoa(i)})
	if err != nil {
		panic(err) // a constant label and a number are always valid
	}
	if sel == nil {
		sel = labels.Everything()
	}
	return sel.Add(*req)
}

// unassignedSelector selects the objects whose shard label is missing or names no shard
// of count: those the labeller must (re)label.
func unassignedSelector(count int) labels.Selector {
	vals := make([]string, count)
	for i := range count {
		vals[i] = strconv.Itoa(i)
	}
	req, err := labels.NewRequirement(Label, selection.NotIn, vals)
	if err != nil {
		panic(err)
	}
	return labels.NewSelector().Add(*req)
}

// labelShard reads an object's shard label; ok is false when it names no shard of count.
func labelShard(l map[string]string, count int) (int, bool) {
	v, err := strconv.Atoi(l[Label])
	if err != nil || v < 0 || v >= count || strconv.Itoa(v) != l[Label] {
		return 0, false
	}
	return v, true
}
