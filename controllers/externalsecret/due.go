package externalsecret

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/secrethash"
	"github.com/vigil-dev/vigil/controllers/internal/target"
	"github.com/vigil-dev/vigil/controllers/sharding"
	"github.com/vigil-dev/vigil/providers"
)

// dueKind says whether and why a pass reads the remote data.
type dueKind int

const (
	notDue dueKind = iota
	// dueNow: the spec or metadata changed since the last sync (which is how the
	// force-sync annotation works), the last pass failed, or the Secret Vigil wrote is gone
	// or was edited. It reads fresh values and goes ahead of periodic refreshes.
	dueNow
	// duePeriodic: the refresh interval has passed. A value another ExternalSecret read
	// within the jitter window serves it.
	duePeriodic
)

// due decides whether this pass syncs. The cache lags the API server: right after a sync,
// the Secret written may not be in it yet, or the ExternalSecret's status may not show the
// sync yet. Deciding from the cache alone, the next pass would sync again, and a generator
// would issue a second set of credentials (a Vault lease, a database user) for the same
// spec, leaving the first live. So a pass that finds a sync due from the cache reads the
// ExternalSecret and its Secret from the API server and decides again; es becomes that
// fresh copy. A pass that finds nothing due costs no extra read, and neither do the first
// sync and the periodic refresh of an ExternalSecret without a generator that trustCache
// lets through.
func (r *Reconciler) due(ctx context.Context, es *esv1.ExternalSecret) (dueKind, time.Duration, error) {
	when, wait, err := r.syncDue(ctx, es, r.Client)
	if err != nil || when == notDue || r.trustCache(es, when) {
		return when, wait, err
	}
	key := client.ObjectKeyFromObject(es)
	fresh := &esv1.ExternalSecret{}
	if err := r.APIReader.Get(ctx, key, fresh); err != nil {
		// Deleted since the cache saw it: the deletion's event brings the next pass.
		return notDue, 0, client.IgnoreNotFound(err)
	}
	rv, ours := r.written.Load(key)
	if ours && rv != fresh.ResourceVersion && fresh.ResourceVersion == es.ResourceVersion {
		// The cache is current and shows a later write than this process's: the record can
		// no longer match.
		r.written.Delete(key)
	}
	if !fresh.DeletionTimestamp.IsZero() {
		return notDue, 0, nil
	}
	*es = *fresh
	// A periodic refresh without a generator checks its Secret in the cache: a cache that
	// lags a Secret this process wrote shows it missing or edited, and the resync that
	// follows writes nothing new. With a generator that resync would issue credentials.
	secrets := r.APIReader
	if when == duePeriodic && !usesGenerator(es) {
		secrets = r.Client
	}
	return r.syncDue(ctx, es, secrets)
}

// trustCache reports whether a sync that the cache's copy of es calls due goes ahead
// without reading es from the API server. It does for an ExternalSecret without a
// generator whose sync is
//   - its first, and this process wrote no status to it (a copy lagging such a write shows
//     no status either), or
//   - a periodic refresh, and the cached copy is the one this process's last status write
//     returned (written): nothing has changed it since, as far as this process can know.
//
// These are most of the syncs at scale (a cold start, a refresh pass), and the confirmation
// reads were a third to two thirds of their API requests. A process that has just started
// or won a shard has no record yet and confirms each refresh once (one read: its Secret is
// checked in the cache, see due). A generator's second call would issue a second set of
// credentials, so it is always confirmed, as are changed specs, failed passes and edited
// Secrets.
func (r *Reconciler) trustCache(es *esv1.ExternalSecret, when dueKind) bool {
	if usesGenerator(es) {
		return false
	}
	rv, ours := r.written.Load(client.ObjectKeyFromObject(es))
	switch {
	case neverSynced(es):
		return !ours
	case when == duePeriodic:
		return ours && rv == es.ResourceVersion
	}
	return false
}

// ForgetShard drops the records of this process's status writes (written) to the
// ExternalSecrets of a shard it no longer leads: another replica writes to them now, and
// when this one leads the shard again its refreshes are confirmed until it has written
// again. It also frees the records of those deleted meanwhile, whose deletion this
// replica does not see.
func (r *Reconciler) ForgetShard(shard int) {
	r.written.Range(func(key, _ any) bool {
		if sharding.Of(key.(types.NamespacedName), r.ShardCount) == shard {
			r.written.Delete(key)
		}
		return true
	})
}

// neverSynced reports whether es shows no status at all.
func neverSynced(es *esv1.ExternalSecret) bool {
	st := es.Status
	return st.SyncedResourceVersion == "" && len(st.Conditions) == 0 && st.RefreshTime.IsZero()
}

// usesGenerator reports whether an entry of es reads from a generator.
func usesGenerator(es *esv1.ExternalSecret) bool {
	for _, d := range es.Spec.Data {
		if d.SourceRef != nil && d.SourceRef.GeneratorRef != nil {
			return true
		}
	}
	for _, d := range es.Spec.DataFrom {
		if d.SourceRef != nil && d.SourceRef.GeneratorRef != nil {
			return true
		}
	}
	return false
}

// changedOrFailed reports whether es is due for a reason its own object shows: it never
// synced, its spec or metadata changed since its last sync, or that sync failed.
func changedOrFailed(es *esv1.ExternalSecret) bool {
	// refreshPolicy CreatedOnce syncs once; later spec or metadata changes do not sync again
	// (ESO's semantics). A failed first sync, or a Secret deleted or edited since, still do.
	createdOnce := es.Spec.RefreshPolicy == esv1.RefreshPolicyCreatedOnce && es.Status.SyncedResourceVersion != ""
	if es.Status.SyncedResourceVersion != syncVersion(es) && !createdOnce {
		return true
	}
	ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
	return ready == nil || ready.Reason == esv1.ReasonSecretSyncedError
}

// syncDue decides whether this pass reads the remote data, and otherwise returns how long
// until the next refresh. reader reads the Secret Vigil wrote.
func (r *Reconciler) syncDue(
	ctx context.Context, es *esv1.ExternalSecret, reader client.Reader,
) (dueKind, time.Duration, error) {
	if changedOrFailed(es) {
		return dueNow, 0, nil
	}
	ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
	if broken, err := r.storeBroken(ctx, es); err != nil || broken {
		return dueNow, 0, err
	}
	if ready.Reason != esv1.ReasonSecretDeleted {
		ok, err := secretIntact(ctx, reader, es)
		if err != nil {
			return notDue, 0, err
		}
		if !ok {
			return dueNow, 0, nil
		}
	}
	interval := refreshInterval(es)
	if interval == 0 {
		return notDue, 0, nil
	}
	next := refreshDue(es, interval)
	if now := r.clock().Now(); now.Before(next) {
		return notDue, next.Sub(now) + r.jitter(interval), nil
	}
	return duePeriodic, 0, nil
}

// readPolicy tells the store's read path how fresh this pass's values must be: a periodic
// refresh takes a value read since it fell due (less the jitter window, as values due soon
// are read ahead); a first sync one read since the ExternalSecret was created (so that
// thousands created together read each key once); changed and forced syncs read fresh.
func (r *Reconciler) readPolicy(es *esv1.ExternalSecret, d dueKind) providers.ReadPolicy {
	interval := refreshInterval(es)
	p := providers.ReadPolicy{Interval: interval, Window: time.Duration(r.Jitter * float64(interval))}
	switch {
	case d == duePeriodic:
		p.Since = refreshDue(es, interval).Add(-p.Window)
	case es.Status.SyncedResourceVersion == "" && !es.CreationTimestamp.IsZero():
		// creationTimestamp is the API server's clock, in whole seconds: the margin covers
		// the rounding and a small skew with this node's clock.
		p.Since = es.CreationTimestamp.Add(creationSkew)
	}
	return p
}

// creationSkew is added to an ExternalSecret's creationTimestamp before values read since
// are trusted for its first sync.
const creationSkew = 2 * time.Second

// secretIntact reports whether the Secret Vigil wrote is still there with the data it
// wrote. Only Owner and Orphan Secrets are checked: a merged Secret holds other data too,
// and None writes nothing.
func secretIntact(ctx context.Context, reader client.Reader, es *esv1.ExternalSecret) (bool, error) {
	switch es.Spec.Target.CreationPolicy {
	case esv1.CreatePolicyMerge, esv1.CreatePolicyNone:
		return true, nil
	}
	var s corev1.Secret
	err := reader.Get(ctx, types.NamespacedName{Namespace: es.Namespace, Name: target.Name(es)}, &s)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.Annotations[esv1.AnnotationDataHash] == secrethash.OfSecret(&s), nil
}

// syncVersion identifies what was synced: the generation (spec changes) and a hash of the
// labels and annotations (so that setting external-secrets.io/force-sync triggers a sync).
// The format is ESO's.
func syncVersion(es *esv1.ExternalSecret) string {
	h := sha256.New()
	for _, m := range []map[string]string{es.Labels, es.Annotations} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			// The controller's own routing label is not the user's; kubectl's copy of the
			// applied object repeats what the generation and the other keys say, and the
			// cache drops it (controllers/manager: externalSecretCache).
			if k == sharding.Label || k == corev1.LastAppliedConfigAnnotation {
				continue
			}
			fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(m[k]), m[k])
		}
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%d-%s", es.Generation, hex.EncodeToString(h.Sum(nil))[:32])
}

// dataHash is the value of the data-hash annotation.
func dataHash(typ corev1.SecretType, data map[string][]byte) string { return secrethash.Of(typ, data) }
