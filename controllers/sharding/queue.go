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
		dropped: map[reconcile.Request]struct{}{},
	}
	s.OnGain(q.gained)
	return q
}

type queue struct {
	priorityqueue.PriorityQueue[reconcile.Request]
	shards *Shards

	mu      sync.Mutex
	dropped map[reconcile.Request]struct{}
}

// keep reports whether this replica reconciles req now, and remembers it when not.
func (q *queue) keep(req reconcile.Request) bool {
	if q.shards.Owns(req.NamespacedName) {
		return true
	}
	q.mu.Lock()
	q.dropped[req] = struct{}{}
	q.mu.Unlock()
	return false
}

// gained queues again, at low priority, the requests of a shard this replica now leads.
func (q *queue) gained(shard int) {
	q.mu.Lock()
	var back []reconcile.Request
	for req := range q.dropped {
		if Of(req.NamespacedName, q.shards.o.Count) == shard {
			back = append(back, req)
			delete(q.dropped, req)
		}
	}
	q.mu.Unlock()
	low := -100 // handler.LowPriority: these are resyncs, not changes
	q.PriorityQueue.AddWithOpts(priorityqueue.AddOpts{Priority: &low}, back...)
}

func (q *queue) Add(req reconcile.Request) {
	if q.keep(req) {
		q.PriorityQueue.Add(req)
	}
}

func (q *queue) AddAfter(req reconcile.Request, d time.Duration) {
	if q.keep(req) {
		q.PriorityQueue.AddAfter(req, d)
	}
}

func (q *queue) AddRateLimited(req reconcile.Request) {
	if q.keep(req) {
		q.PriorityQueue.AddRateLimited(req)
	}
}

func (q *queue) AddWithOpts(o priorityqueue.AddOpts, reqs ...reconcile.Request) {
	kept := reqs[:0:0]
	for _, req := range reqs {
		if q.keep(req) {
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
		if shutdown || q.keep(req) {
			return req, prio, shutdown
		}
		q.Forget(req)
		q.Done(req)
	}
}
