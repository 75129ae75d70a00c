package pushsecret

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/policycheck"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
)

// keepFinalizer adds ESO's finalizer to a PushSecret with deletionPolicy Delete (its remote
// secrets are deleted with it) and removes it from one with None.
func (r *Reconciler) keepFinalizer(ctx context.Context, ps *esv1alpha1.PushSecret) error {
	want := ps.Spec.DeletionPolicy == esv1alpha1.PushSecretDeletionPolicyDelete
	if want == controllerutil.ContainsFinalizer(ps, Finalizer) {
		return nil
	}
	if want {
		controllerutil.AddFinalizer(ps, Finalizer)
	} else {
		controllerutil.RemoveFinalizer(ps, Finalizer)
	}
	// An update, not a patch: the API server refuses it when the object changed meanwhile,
	// so a finalizer another client added or removed is never lost.
	return r.Client.Update(ctx, ps)
}

// finalize deletes what a PushSecret with the finalizer pushed, then lets it go. A store
// that cannot delete keeps the PushSecret (its Ready condition says why) until it can, or
// until the user changes deletionPolicy to None or removes the finalizer.
func (r *Reconciler) finalize(ctx context.Context, ps *esv1alpha1.PushSecret) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(ps, Finalizer) {
		return ctrl.Result{}, nil
	}
	if ps.Spec.DeletionPolicy == esv1alpha1.PushSecretDeletionPolicyDelete {
		if err := r.deleteRemoved(ctx, ps, nil); err != nil {
			return r.failed(ps, nil, err)
		}
	}
	ps.Status.SyncedPushSecrets = nil
	controllerutil.RemoveFinalizer(ps, Finalizer)
	if err := r.Client.Update(ctx, ps); err != nil && !isGone(err) {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// deleteRemoved deletes from the stores every entry of status.syncedPushSecrets that keep
// does not hold (nil keeps nothing), and drops it from the status as it goes, so that a pass
// that fails part way does not delete the same entries twice.
func (r *Reconciler) deleteRemoved(
	ctx context.Context, ps *esv1alpha1.PushSecret, keep esv1alpha1.SyncedPushSecretsMap,
) error {
	for _, storeKey := range slices.Sorted(maps.Keys(ps.Status.SyncedPushSecrets)) {
		entries := ps.Status.SyncedPushSecrets[storeKey]
		var gone []string
		for ref := range entries {
			if _, ok := keep[storeKey][ref]; !ok {
				gone = append(gone, ref)
			}
		}
		if len(gone) == 0 {
			continue
		}
		slices.Sort(gone)
		pusher, err := r.pusherForDeletes(ctx, ps, storeKey, gone)
		if err != nil {
			return err
		}
		for _, ref := range gone {
			d := entries[ref]
			// A remote secret Vigil did not create is left as it is (ESO does the same).
			if err := pusher.DeleteSecret(ctx, pushRef(d)); err != nil && !errors.Is(err, providers.ErrNotManaged) {
				return outcome.Transient(esv1alpha1.ReasonErrored,
					fmt.Errorf("deleting remote key %s from %s: %w", pushRef(d), storeKey, err))
			}
			delete(ps.Status.SyncedPushSecrets[storeKey], ref)
		}
		if len(ps.Status.SyncedPushSecrets[storeKey]) == 0 {
			delete(ps.Status.SyncedPushSecrets, storeKey)
		}
	}
	return nil
}

// pusherForDeletes returns the Pusher of a store named by a status.syncedPushSecrets key
// ("Kind/name"), as the PushSecret's namespace uses it, to delete the entries gone of it.
func (r *Reconciler) pusherForDeletes(
	ctx context.Context, ps *esv1alpha1.PushSecret, storeKey string, gone []string,
) (providers.Pusher, error) {
	kind, name, ok := strings.Cut(storeKey, "/")
	if !ok {
		return nil, outcome.Terminal(esv1alpha1.ReasonErrored,
			fmt.Errorf("status.syncedPushSecrets names %q, which is not Kind/name", storeKey))
	}
	store, err := r.getStore(ctx, ps, esv1alpha1.PushSecretStoreRef{Kind: kind, Name: name})
	if err != nil {
		return nil, err
	}
	// The keys were judged through the store as it was when they were pushed; they are
	// judged again through the store as it is, whose credential deletes them.
	keys := make([]policy.PushedKey, 0, len(gone))
	for _, ref := range gone {
		keys = append(keys, policy.PushedKey{
			Path:  fmt.Sprintf("status.syncedPushSecrets[%q][%q]", storeKey, ref),
			Store: store, RemoteKey: ps.Status.SyncedPushSecrets[storeKey][ref].Match.RemoteRef.RemoteKey,
		})
	}
	if err := policycheck.PushSecretDeletes(ctx, r.Gate, ps, store, keys); err != nil {
		return nil, err
	}
	return r.pusher(ctx, ps, store)
}

// due tells whether a push is due: the spec, labels or annotations changed since the last
// push (ESO's syncedResourceVersion), or the refresh interval passed. refreshInterval 0
// pushes once per change. It also returns how long until the next push.
func (r *Reconciler) due(ps *esv1alpha1.PushSecret) (time.Duration, bool) {
	if ps.Status.SyncedResourceVersion != syncVersion(ps) || ps.Status.RefreshTime.IsZero() {
		return 0, true
	}
	interval := refreshInterval(ps)
	if interval == 0 {
		return 0, false
	}
	next := ps.Status.RefreshTime.Add(interval)
	if wait := next.Sub(r.clock().Now()); wait > 0 {
		return wait, false
	}
	return 0, true
}

// refreshInterval is spec.refreshInterval (1h when the API server did not default it).
func refreshInterval(ps *esv1alpha1.PushSecret) time.Duration {
	if ps.Spec.RefreshInterval == nil {
		return time.Hour
	}
	return ps.Spec.RefreshInterval.Duration
}

// syncVersion is ESO's syncedResourceVersion: the generation and a hash of labels and
// annotations, so that editing either (force-sync) pushes again.
func syncVersion(ps *esv1alpha1.PushSecret) string {
	h := sha256.New()
	for _, m := range []map[string]string{ps.Labels, ps.Annotations} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(m[k]), m[k])
		}
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%d-%s", ps.Generation, hex.EncodeToString(h.Sum(nil))[:32])
}

// merge returns the entries of both maps; a's win.
func merge(a, b esv1alpha1.SyncedPushSecretsMap) esv1alpha1.SyncedPushSecretsMap {
	out := esv1alpha1.SyncedPushSecretsMap{}
	for _, m := range []esv1alpha1.SyncedPushSecretsMap{b, a} {
		for store, entries := range m {
			if out[store] == nil {
				out[store] = map[string]esv1alpha1.PushSecretData{}
			}
			maps.Copy(out[store], entries)
		}
	}
	return out
}

// statusRef is ESO's key of an entry in status.syncedPushSecrets: remoteKey, or
// remoteKey/property.
func statusRef(d esv1alpha1.PushSecretData) string {
	if d.Match.RemoteRef.Property != "" {
		return d.Match.RemoteRef.RemoteKey + "/" + d.Match.RemoteRef.Property
	}
	return d.Match.RemoteRef.RemoteKey
}

// storeKey is ESO's key of a store in status.syncedPushSecrets: Kind/name.
func storeKey(store esv1.GenericStore) string { return store.GetKind() + "/" + store.GetName() }

// pushRef is what a Pusher is told about an entry.
func pushRef(d esv1alpha1.PushSecretData) providers.PushRef {
	return providers.PushRef{
		Key: d.Match.RemoteRef.RemoteKey, Property: d.Match.RemoteRef.Property, Metadata: d.Metadata,
		SecretKey: d.Match.SecretKey,
	}
}

// oneLine bounds a message for a condition or an event.
func oneLine(msg string) string { return providers.Truncate(msg, 1024) }
