// Package sharding splits the objects Vigil reconciles between replicas when one replica
// cannot carry them all (--shard-count). Every object belongs to one shard, by a hash of its
// namespace and name. Each shard has a Lease, and only its holder reconciles the shard's
// objects: the Lease (client-go's leader election) guarantees one leader per shard.
//
// Which replica campaigns for which shard is decided from the live replicas: each replica
// holds a member Lease of its own, and the live members, sorted, take the shards round
// robin. A replica that joins or leaves changes the assignment; the replicas that lose a
// shard release its Lease, and the ones that gain it acquire it. When a replica stops, the
// others take over its shards (at once when it stopped cleanly and released its Leases,
// after the Lease duration when it was killed).
package sharding

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// memberLabel marks the member Leases of one sharded installation; its value is the
// installation's lease prefix.
const memberLabel = "vigil.dev/shard-member-of"

// Options configure sharding.
type Options struct {
	// Count is the number of shards; 1 turns sharding off.
	Count int
	// Namespace holds the Leases; Prefix starts their names.
	Namespace string
	Prefix    string
	// Identity names this replica in the Leases (unique per process).
	Identity string
	// Leader election timings, as in controller-runtime (15s, 10s, 2s).
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
}

// Shards tracks the shards this replica leads. It is a manager runnable (Start).
type Shards struct {
	o      Options
	client kubernetes.Interface
	log    logr.Logger

	mu        sync.RWMutex
	held      map[int]bool
	campaigns map[int]context.CancelFunc
	acquiring map[int]bool
	onAcquire []func(ctx context.Context, shard int) error
	onGain    []func(shard int)
	onLose    []func(shard int)
	onRelease []func(shard int)
	// running counts the elections, so that Start returns only once every Lease it held is
	// released (the process may exit right after).
	running sync.WaitGroup
}

// New returns the shards of an installation; Start campaigns for them.
func New(o Options, client kubernetes.Interface, log logr.Logger) *Shards {
	return &Shards{
		o: o, client: client, log: log,
		held: map[int]bool{}, acquiring: map[int]bool{}, campaigns: map[int]context.CancelFunc{},
	}
}

// Of returns the shard an object belongs to.
func Of(key types.NamespacedName, count int) int {
	if count <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(key.Namespace + "/" + key.Name))
	return int(h.Sum32() % uint32(count))
}

// Owns reports whether this replica leads the shard of an object.
func (s *Shards) Owns(key types.NamespacedName) bool { return s.Leads(Of(key, s.o.Count)) }

// LeadsLabelled reports whether an object carries a valid shard label (labelled) and this
// replica leads that shard (leads).
func (s *Shards) LeadsLabelled(o metav1.Object) (leads, labelled bool) {
	i, ok := labelShard(o.GetLabels(), s.o.Count)
	return ok && s.Leads(i), ok
}

// Leads reports whether this replica leads a shard.
func (s *Shards) Leads(shard int) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.held[shard]
}

// OnGain registers a function called when this replica starts leading a shard (queues
// re-add the objects they dropped). Call it before Start.
func (s *Shards) OnGain(f func(shard int)) { s.onGain = append(s.onGain, f) }

// OnAcquire registers a function that prepares a shard this replica won, before it leads
// it (its cache is started and synced); an error gives the shard up. Call it before Start.
func (s *Shards) OnAcquire(f func(ctx context.Context, shard int) error) {
	s.onAcquire = append(s.onAcquire, f)
}

// OnRelease registers a function called after the OnLose functions, unless the shard was
// won back meanwhile (its cache is stopped). Call it before Start.
func (s *Shards) OnRelease(f func(shard int)) { s.onRelease = append(s.onRelease, f) }

// OnLose registers a function called when this replica stops leading a shard (metrics of
// its objects are dropped: the new leader reports them). Call it before Start.
func (s *Shards) OnLose(f func(shard int)) { s.onLose = append(s.onLose, f) }

// lost marks shard i as not led and tells the OnLose functions (in their own goroutine:
// the caller may hold s.mu).
func (s *Shards) lost(i int) {
	if !s.held[i] {
		return
	}
	s.held[i] = false
	go func() {
		for _, f := range s.onLose {
			f(i)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.held[i] && !s.acquiring[i] {
			for _, f := range s.onRelease {
				f(i)
			}
		}
	}()
}

// NeedLeaderElection: every replica runs; the shard Leases do the electing.
func (s *Shards) NeedLeaderElection() bool { return false }

// Start keeps this replica's member Lease and campaigns for its fair share of shards until
// ctx ends; then it releases every Lease it holds.
func (s *Shards) Start(ctx context.Context) error {
	memberCtx, stopMember := context.WithCancel(ctx)
	defer stopMember()
	member, err := s.elector(s.memberLease(), nil)
	if err != nil {
		return err
	}
	s.running.Go(func() { member.Run(memberCtx) })
	t := time.NewTicker(s.o.RetryPeriod)
	defer t.Stop()
	s.settle(ctx, t.C)
	for {
		if err := s.rebalance(ctx); err != nil {
			s.log.Error(err, "reading the sharding members")
		}
		select {
		case <-ctx.Done():
			s.stopAll()
			stopMember()
			s.running.Wait()
			return nil
		case <-t.C:
		}
	}
}

// settle waits until this replica's member Lease is seen, and one retry period more:
// replicas started together (an install, a rollout of the Deployment) then see each other
// before they campaign. Otherwise the first one up would take, and cache, every shard for a
// moment, and its peak memory would be that of one replica for all.
func (s *Shards) settle(ctx context.Context, tick <-chan time.Time) {
	for seen := false; ; {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		if seen {
			return
		}
		members, err := s.liveMembers(ctx)
		seen = err == nil && slices.Contains(members, s.o.Identity)
	}
}

func (s *Shards) memberLease() string { return s.o.Prefix + "-member-" + leaseSafe(s.o.Identity) }

func (s *Shards) shardLease(i int) string {
	return fmt.Sprintf("%s-shard-%d-of-%d", s.o.Prefix, i, s.o.Count)
}

// rebalance campaigns for the shards the live members assign to this replica and gives up
// the others.
func (s *Shards) rebalance(ctx context.Context) error {
	members, err := s.liveMembers(ctx)
	if err != nil {
		return err
	}
	rank := slices.Index(members, s.o.Identity)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.o.Count {
		mine := rank >= 0 && i%len(members) == rank
		cancel, campaigning := s.campaigns[i]
		switch {
		case mine && !campaigning:
			s.campaign(ctx, i)
		case !mine && campaigning:
			// Stop reconciling first, then release the Lease for the new owner.
			s.lost(i)
			cancel()
			delete(s.campaigns, i)
		}
	}
	return nil
}

// campaign runs an election for shard i until its context ends or the Lease is lost; the
// next rebalance campaigns again when the shard is still this replica's. Holds s.mu.
func (s *Shards) campaign(ctx context.Context, i int) {
	cctx, cancel := context.WithCancel(ctx)
	s.campaigns[i] = cancel
	le, err := s.elector(s.shardLease(i), &leaderelection.LeaderCallbacks{
		OnStartedLeading: func(lctx context.Context) {
			if !s.acquire(lctx, i) {
				return
			}
			s.log.Info("leading shard", "shard", i, "of", s.o.Count)
			for _, f := range s.onGain {
				f(i)
			}
		},
		OnStoppedLeading: func() {
			s.mu.Lock()
			s.lost(i)
			s.mu.Unlock()
		},
	})
	if err != nil {
		s.log.Error(err, "campaigning for a shard", "shard", i)
		cancel()
		delete(s.campaigns, i)
		return
	}
	s.running.Go(func() {
		le.Run(cctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.lost(i)
		if c, ok := s.campaigns[i]; ok && cctx.Err() == nil {
			// Lost (not given up): let the next rebalance campaign again.
			c()
			delete(s.campaigns, i)
		}
	})
}

// acquire prepares shard i (OnAcquire) and marks it led; it reports false when the shard
// was given up meanwhile or could not be prepared (then it is given up: the next rebalance
// campaigns again).
func (s *Shards) acquire(lctx context.Context, i int) bool {
	s.mu.Lock()
	if lctx.Err() != nil { // given up meanwhile
		s.mu.Unlock()
		return false
	}
	s.acquiring[i] = true
	s.mu.Unlock()
	var err error
	for _, f := range s.onAcquire {
		if err = f(lctx, i); err != nil {
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acquiring[i] = false
	if err != nil && lctx.Err() == nil {
		s.log.Error(err, "preparing a shard; giving it up", "shard", i)
		if cancel, ok := s.campaigns[i]; ok {
			cancel()
			delete(s.campaigns, i)
		}
	}
	if err == nil && lctx.Err() != nil { // prepared, but lost meanwhile
		for _, f := range s.onRelease {
			f(i)
		}
	}
	if err != nil || lctx.Err() != nil {
		return false
	}
	s.held[i] = true
	return true
}

func (s *Shards) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, cancel := range s.campaigns {
		s.lost(i)
		cancel()
		delete(s.campaigns, i)
	}
}

// liveMembers lists the identities of the replicas whose member Lease is held and renewed,
// sorted.
func (s *Shards) liveMembers(ctx context.Context) ([]string, error) {
	members := metav1.ListOptions{LabelSelector: memberLabel + "=" + s.o.Prefix}
	list, err := s.client.CoordinationV1().Leases(s.o.Namespace).List(ctx, members)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []string
	for _, l := range list.Items {
		if live(l, now) {
			out = append(out, *l.Spec.HolderIdentity)
		} else if expiredLong(l, now, s.o.LeaseDuration) {
			// A member that was killed long ago: tidy up its Lease.
			_ = s.client.CoordinationV1().Leases(s.o.Namespace).Delete(ctx, l.Name, metav1.DeleteOptions{})
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func live(l coordinationv1.Lease, now time.Time) bool {
	sp := l.Spec
	if sp.HolderIdentity == nil || *sp.HolderIdentity == "" || sp.RenewTime == nil || sp.LeaseDurationSeconds == nil {
		return false
	}
	return now.Before(sp.RenewTime.Add(time.Duration(*sp.LeaseDurationSeconds) * time.Second))
}

func expiredLong(l coordinationv1.Lease, now time.Time, d time.Duration) bool {
	renewed := l.CreationTimestamp.Time
	if l.Spec.RenewTime != nil {
		renewed = l.Spec.RenewTime.Time
	}
	return now.Sub(renewed) > 10*d
}

// elector returns a leader elector on a Lease that releases it when its context ends.
func (s *Shards) elector(
	name string, callbacks *leaderelection.LeaderCallbacks,
) (*leaderelection.LeaderElector, error) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: s.o.Namespace, Name: name},
		Client:     s.client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: s.o.Identity},
	}
	cb := leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}}
	if callbacks == nil {
		lock.Labels = map[string]string{memberLabel: s.o.Prefix}
	} else {
		cb = *callbacks
	}
	return leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   s.o.LeaseDuration,
		RenewDeadline:   s.o.RenewDeadline,
		RetryPeriod:     s.o.RetryPeriod,
		Callbacks:       cb,
		ReleaseOnCancel: true,
		Name:            name,
	})
}

// leaseSafe turns an identity (hostname_uuid) into a DNS-1123 name part.
func leaseSafe(id string) string {
	id = strings.ToLower(id)
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, id)
}
