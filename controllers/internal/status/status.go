// Package status holds what every reconciler does with its object's status: set the Ready
// condition, and write the status once per pass, only when the pass changed it (a write
// that changes nothing would still bump the resourceVersion and wake every watcher).
package status

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
// two, and does nothing otherwise. An object deleted meanwhile is no error. On success obj
// carries the resourceVersion of the write.
//
// The patch is the difference of the two statuses alone, and the API server answers with
// the object's metadata, not the whole object: at thousands of syncs a second, diffing the
// whole objects and decoding the whole object back (with its managed fields) were a tenth
// of the controller's CPU, and encoding it a share of the API server's. The statuses are
// compared as the API server stores them (JSON: times to the second), so a pass that
// would write nothing new writes nothing.
func Patch[T client.Object, S any](ctx context.Context, c client.Client, before, obj T, statusOf func(T) S) error {
	old, err := json.Marshal(statusOf(before))
	if err != nil {
		return fmt.Errorf("encoding the status: %w", err)
	}
	updated, err := json.Marshal(statusOf(obj))
	if err != nil {
		return fmt.Errorf("encoding the status: %w", err)
	}
	if bytes.Equal(old, updated) {
		return nil
	}
	diff, err := jsonpatch.CreateMergePatch(old, updated)
	if err != nil {
		return fmt.Errorf("computing the status patch: %w", err)
	}
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(gvk)
	meta.Namespace, meta.Name = obj.GetNamespace(), obj.GetName()
	patch := client.RawPatch(types.MergePatchType, append(append([]byte(`{"status":`), diff...), '}'))
	if err := c.Status().Patch(ctx, meta, patch); err != nil {
		return client.IgnoreNotFound(err)
	}
	obj.SetResourceVersion(meta.ResourceVersion)
	return nil
}
