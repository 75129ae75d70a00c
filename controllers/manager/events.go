package manager

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"
)

// ESO's controllers record core/v1 events, cluster-wide.
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// eventCacheSize bounds each of the broadcaster's correlation caches (the spam filter's,
// the aggregator's and the event log's): objects beyond it are forgotten, least recently
// used first, and their next event is a new Event object rather than a count on the last.
const eventCacheSize = 1024

// eventRecorders returns the recorders the reconcilers record events with, by reporting
// controller name. The events API broadcaster that controller-runtime's GetEventRecorder
// uses keeps a copy of every event it sent for six minutes, unbounded: 10,000 ExternalSecrets
// synced together held ~14 MB of events. client-go's core/v1 broadcaster (the one ESO
// records with) correlates through LRU caches of a bounded size instead; events still
// reach the API server and read the same through events.k8s.io. It stops with ctx.
func eventRecorders(
	ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme,
) (func(string) events.EventRecorder, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	b := record.NewBroadcaster(record.WithContext(ctx), record.WithCorrelatorOptions(record.CorrelatorOptions{
		LRUCacheSize: eventCacheSize,
	}))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	return func(name string) events.EventRecorder {
		return coreRecorder{b.NewRecorder(scheme, corev1EventSource(name))}
	}, nil
}

// coreRecorder records the events API's Eventf as a core/v1 event: the note becomes the
// message; action and the related object have no place there and are dropped.
type coreRecorder struct{ r record.EventRecorder }

func (c coreRecorder) Eventf(regarding, _ runtime.Object, eventtype, reason, _, note string, args ...any) {
	c.r.Eventf(regarding, eventtype, reason, note, args...)
}

func corev1EventSource(name string) corev1.EventSource { return corev1.EventSource{Component: name} }
