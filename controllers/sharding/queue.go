package sharding

import (
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// NewQueue returns a controller.Options.NewQueue that keeps only the objects of the shards
// this replica leads. It is the one place sharding touches the controllers: requests of
// other shards are dropped when added and when taken (the shard may have moved meanwhile),
// and remembered, so that they are queued again when this replica gains their shard.
func (s *Shards) NewQueue(
	controllerName string, rl workqueue.TypedRateLimiter[reconcile.Request],
) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	q := &queue{
		PriorityQueue: priorityqueue.New(controllerName, func(o *priorityqueue.Opts[reconcile.Request]) {
			o.RateLimiter = rl
		}),
		shards:  s,
		dropped: map[reconcile.Request]int{},
	}
	s.OnGain(q.gained)
	return q
}

type queue struct {
	priorityqueue.PriorityQueue[reconcile.Request]
	shards *Shards

	mu sync.Mutex
	// dropped holds the highest priority each dropped request was added with.
	dropped map[reconcile.Request]int
}

// keep reports whether this replica reconciles req now, and remembers it (with the
// priority it came with: the priority queue's 0 unless told otherwise) when not.
func (q *queue) keep(req reconcile.Request, priority int) bool {
	if q.shards.Owns(req.NamespacedName) {
		return true
	}
	q.mu.Lock()
	if p, seen := q.dropped[req]; !seen || priority > p {
		q.dropped[req] = priority
	}
	q.mu.Unlock()
	return false
}

// gained queues again the requests of a shard this replica now leads, each at the highest
// priority it was dropped with: the shard's cache delivers its first list while the shard
// is being won, and an ExternalSecret that waits for a change stays ahead of the refreshes.
func (q *queue) gained(shard int) {
	q.mu.Lock()
	back := map[int][]reconcile.Request{}
	for req, priority := range q.dropped {
		if Of(req.NamespacedName, q.shards.o.Count) == shard {
			back[priority] = append(back[priority], req)
			delete(q.dropped, req)
		}
	}
	q.mu.Unlock()
	for priority, reqs := range back {
		q.PriorityQueue.AddWithOpts(priorityqueue.AddOpts{Priority: &priority}, reqs...)
	}
}

func (q *queue) Add(req reconcile.Request) {
	if q.keep(req, 0) {
		q.PriorityQueue.Add(req)
	}
}

func (q *queue) AddAfter(req reconcile.Request, d time.Duration) {
	if q.keep(req, 0) {
		q.PriorityQueue.AddAfter(req, d)
	}
}

func (q *queue) AddRateLimited(req reconcile.Request) {
	if q.keep(req, 0) {
		q.PriorityQueue.AddRateLimited(req)
	}
}

func (q *queue) AddWithOpts(o priorityqueue.AddOpts, reqs ...reconcile.Request) {
	priority := 0
	if o.Priority != nil {
		priority = *o.Priority
	}
	kept := reqs[:0:0]
	for _, req := range reqs {
		if q.keep(req, priority) {
			kept = append(kept, req)
		}
	}
	if len(kept) > 0 {
		q.PriorityQueue.AddWithOpts(o, kept...)
	}
}

func (q *queue) Get() (reconcile.Request, bool) {
	req, _, shutdown := q.GetWithPriority()
	return req, shutdown
}

func (q *queue) GetWithPriority() (reconcile.Request, int, bool) {
	for {
		req, prio, shutdown := q.PriorityQueue.GetWithPriority()
		if shutdown || q.keep(req, prio) {
			return req, prio, shutdown
		}
		q.Forget(req)
		q.Done(req)
	}
}
