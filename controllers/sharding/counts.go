package sharding

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	toolscache "k8s.io/client-go/tools/cache"
)

// CachedObjectsMetric counts the objects of each sharded kind this replica holds in memory,
// per shard: with N replicas each holds about 1/N of them.
const CachedObjectsMetric = "vigil_shard_cached_objects"

var cachedObjectsDesc = prometheus.NewDesc(CachedObjectsMetric,
	"Objects of a sharded kind (ExternalSecret, managed Secret) this replica caches, per shard it leads.",
	[]string{"shard", "kind"}, nil)

// counts tracks the objects in each shard's informers, from their add and delete events.
type counts struct {
	mu sync.Mutex
	n  map[int]map[string]int
}

func newCounts() *counts { return &counts{n: map[int]map[string]int{}} }

func (c *counts) add(shard int, kind string, d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[shard] == nil {
		c.n[shard] = map[string]int{}
	}
	c.n[shard][kind] += d
}

// handler counts the objects of one kind in one shard's informer.
func (c *counts) handler(shard int, kind string) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.add(shard, kind, 1) },
		DeleteFunc: func(any) { c.add(shard, kind, -1) },
	}
}

// drop forgets a released shard (its informer stops without delete events).
func (c *counts) drop(shard int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.n, shard)
}

// Describe and Collect make Caches a Prometheus collector of CachedObjectsMetric.
func (c *Caches) Describe(ch chan<- *prometheus.Desc) { ch <- cachedObjectsDesc }

func (c *Caches) Collect(ch chan<- prometheus.Metric) {
	c.counters.mu.Lock()
	defer c.counters.mu.Unlock()
	for shard, kinds := range c.counters.n {
		for kind, n := range kinds {
			ch <- prometheus.MustNewConstMetric(cachedObjectsDesc, prometheus.GaugeValue, float64(n), strconv.Itoa(shard), kind)
		}
	}
}
