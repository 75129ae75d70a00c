package externalsecret

import (
	"context"
	"errors"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/internal/stores"
)

// storeBroken reports whether a store the ExternalSecret reads from (its own or one named
// in a sourceRef) is gone, no longer admits its namespace, or reports that it cannot be
// used (Ready False for its current spec, since the last sync). A synced ExternalSecret then syncs at once
// instead of at its next refresh, so that it says so (SecretSyncedError naming the store)
// within seconds while its Secret stays as it was. The store watch brings it here when a
// store is deleted or changes; checking the state rather than the event also catches a
// store deleted while the controller was down.
func (r *Reconciler) storeBroken(ctx context.Context, es *esv1.ExternalSecret) (bool, error) {
	for _, ref := range storeRefs(es) {
		store, err := stores.Get(ctx, r.Client, ref, es.Namespace)
		switch {
		case errors.Is(err, stores.ErrNotFound), errors.Is(err, stores.ErrNotAllowed):
			return true, nil
		case err != nil:
			return false, err
		}
		// Only a store that broke since the last sync counts: one that says it is broken
		// while reads still work would otherwise sync again on every status write.
		c := apimeta.FindStatusCondition(store.GetStatus().Conditions, esv1.ConditionReady)
		if c != nil && c.Status == metav1.ConditionFalse && c.ObservedGeneration == store.GetGeneration() &&
			!c.LastTransitionTime.Before(&es.Status.RefreshTime) {
			return true, nil
		}
	}
	return false, nil
}
