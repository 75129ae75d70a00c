// Package status holds what every reconciler does with its object's status: set the Ready
// condition, and write the status once per pass, only when the pass changed it (a write
// that changes nothing would still bump the resourceVersion and wake every watcher).
package status

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// SetReady sets the Ready condition (every Vigil object reports one, ESO's type) of an
// object of the given generation. The transition time changes only when the status does
// (apimeta.SetStatusCondition).
func SetReady(
	conditions *[]metav1.Condition, generation int64, status metav1.ConditionStatus, reason, message string,
) {
	apimeta.SetStatusCondition(conditions, metav1.Condition{
		Type:               esv1.ConditionReady,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: generation,
	})
}

// Patch writes obj's status as a merge patch from before when statusOf differs between the
// two, and does nothing otherwise. An object deleted meanwhile is no error.
func Patch[T client.Object, S any](ctx context.Context, c client.Client, before, obj T, statusOf func(T) S) error {
	if equality.Semantic.DeepEqual(statusOf(before), statusOf(obj)) {
		return nil
	}
	return client.IgnoreNotFound(c.Status().Patch(ctx, obj, client.MergeFrom(before)))
}
