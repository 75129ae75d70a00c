package storeref

import (
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// ReadyChanged passes store updates whose Ready condition changed status: the ExternalSecrets
// and PushSecrets that use a store are re-queued when it becomes usable or stops being so.
var ReadyChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return readyStatus(e.ObjectOld) != readyStatus(e.ObjectNew)
}}

func readyStatus(o client.Object) metav1.ConditionStatus {
	store, ok := o.(esv1.GenericStore)
	if !ok {
		return ""
	}
	if c := apimeta.FindStatusCondition(store.GetStatus().Conditions, esv1.ConditionReady); c != nil {
		return c.Status
	}
	return ""
}
