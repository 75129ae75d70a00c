package externalsecret

import (
	"hash/fnv"
	"math/rand/v2"
	"time"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// nextRefresh is the delay until the next periodic sync, or 0 when there is none.
func (r *Reconciler) nextRefresh(es *esv1.ExternalSecret) time.Duration {
	interval := refreshInterval(es)
	if interval == 0 {
		return 0
	}
	return refreshDue(es, interval).Sub(r.clock().Now()) + r.jitter(interval)
}

// refreshDue is when the next periodic refresh falls due. Each store has a grid of refresh
// times, one interval apart at a phase of its own; an ExternalSecret refreshes at the last
// grid point at most one interval after its last refresh. So the refreshes of one store
// fall due together (and are read in batches, each value once), the stores' cycles are
// spread over the interval, and no refresh comes later than the interval after the last
// (the first may come sooner). The jitter then spreads one cycle's API writes over a window.
func refreshDue(es *esv1.ExternalSecret, interval time.Duration) time.Time {
	limit := es.Status.RefreshTime.Add(interval)
	h := fnv.New64a()
	h.Write([]byte(es.Namespace + "/" + storeRefKey(es.Spec.SecretStoreRef.Kind, es.Spec.SecretStoreRef.Name)))
	phase := int64(h.Sum64() % uint64(interval))
	off := (limit.UnixNano() - phase) % int64(interval)
	if off < 0 {
		off += int64(interval)
	}
	return limit.Add(-time.Duration(off))
}

func (r *Reconciler) jitter(interval time.Duration) time.Duration {
	if r.Jitter <= 0 {
		return 0
	}
	return time.Duration(rand.Float64() * r.Jitter * float64(interval))
}

// refreshInterval is the periodic refresh interval, 0 when the policy asks for none.
func refreshInterval(es *esv1.ExternalSecret) time.Duration {
	switch es.Spec.RefreshPolicy {
	case esv1.RefreshPolicyCreatedOnce, esv1.RefreshPolicyOnChange:
		return 0
	}
	if es.Spec.RefreshInterval == nil {
		return time.Hour
	}
	return es.Spec.RefreshInterval.Duration
}
