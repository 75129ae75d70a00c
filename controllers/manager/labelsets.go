package manager

import (
	"sync"

	k8slabels "k8s.io/apimachinery/pkg/labels"
)

// labelSets hands the cache one shared map per distinct label set: the managed Secrets of an
// installation carry a few label sets (the managed label, a shard's, a template's), and a
// map each was 3.5 MB of the live heap at 10,000 of them (docs/performance.md, Memory).
// Cached objects are read-only and DeepCopy gives a copy its own map, so sharing is safe.
// A tenant's template can make label sets without end: the table holds at most
// maxLabelSets of at most maxSharedLabels labels (a larger set keeps its own map), and
// starts over when full, so that sets of deleted Secrets do not keep others from sharing
// (maps shared before stay shared: nothing writes them).
type labelSets struct {
	mu   sync.Mutex
	sets map[string]map[string]string
}

const (
	maxLabelSets    = 1024
	maxSharedLabels = 8
)

// shared returns the table's map equal to labels, else labels itself, which it keeps for the
// next equal set unless the set is too large to share.
func (l *labelSets) shared(labels map[string]string) map[string]string {
	if len(labels) == 0 || len(labels) > maxSharedLabels {
		return labels
	}
	// labels.Set's String is canonical (keys sorted, k=v joined by commas), and label keys
	// and values the API server accepts hold neither '=' nor ',', so two sets never read alike.
	key := k8slabels.Set(labels).String()
	l.mu.Lock()
	defer l.mu.Unlock()
	if m, ok := l.sets[key]; ok {
		return m
	}
	if l.sets == nil || len(l.sets) >= maxLabelSets {
		l.sets = map[string]map[string]string{}
	}
	l.sets[key] = labels
	return labels
}
