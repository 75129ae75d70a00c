package policy

import (
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// StoreMemo keeps the verdict on each store for a short while, so that the ExternalSecrets
// of one store synced together (a cold start, a refresh cycle: thousands within seconds)
// share one evaluation of the store instead of one each. A verdict is reused only for the
// same store object (UID and resourceVersion), the same operation and the same policy set;
// what else a store's input holds (its namespace's labels, the IAM policies of its role)
// is at most TTL old, and the IAM policies are cached longer than that already
// (--iam-cache-ttl).
type StoreMemo struct {
	TTL   time.Duration
	Clock clock.PassiveClock

	mu sync.Mutex
	m  map[types.UID]storeVerdict
}

type storeVerdict struct {
	resourceVersion, op string
	set                 *Set
	at                  time.Time
	violations          []Violation
}

// NewStoreMemo returns a memo whose verdicts last ttl.
func NewStoreMemo(ttl time.Duration) *StoreMemo {
	return &StoreMemo{TTL: ttl, Clock: clock.RealClock{}, m: map[types.UID]storeVerdict{}}
}

// get returns the verdict on store under set and op if one younger than the TTL is kept.
func (m *StoreMemo) get(store esv1.GenericStore, op string, set *Set) ([]Violation, bool) {
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[store.GetUID()]
	if !ok || v.resourceVersion != store.GetResourceVersion() || v.op != op || v.set != set ||
		m.Clock.Since(v.at) >= m.TTL {
		return nil, false
	}
	return slices.Clone(v.violations), true
}

// put keeps a verdict; verdicts past their TTL are dropped first, so the memo holds at most
// the stores judged within one TTL.
func (m *StoreMemo) put(store esv1.GenericStore, op string, set *Set, vs []Violation) {
	if m == nil || store.GetUID() == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.Clock.Now()
	for uid, v := range m.m {
		if now.Sub(v.at) >= m.TTL {
			delete(m.m, uid)
		}
	}
	m.m[store.GetUID()] = storeVerdict{
		resourceVersion: store.GetResourceVersion(), op: op, set: set, at: now, violations: slices.Clone(vs),
	}
}
