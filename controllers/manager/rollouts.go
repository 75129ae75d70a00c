package manager

import (
	"context"

	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/vigil-dev/vigil/controllers/rollout"
	"github.com/vigil-dev/vigil/metrics"
)

// setupRollouts registers the rollout reconcilers when rollouts are on.
func (w *wiring) setupRollouts(ctx context.Context) error {
	if !w.o.Rollouts {
		return nil
	}
	return setupRollouts(ctx, w.mgr, w.rec, w.events("vigil-rollout"), w.o.Rollout, w.rolloutOpts, w.rolloutSharding())
}

// setupRollouts registers one rollout reconciler per workload kind; Argo Rollouts only when
// its CRD is installed. They share one limit on concurrent rollouts.
func setupRollouts(
	ctx context.Context, mgr ctrl.Manager, rec *metrics.Recorder, evs events.EventRecorder, o rollout.Options,
	ctrlOpts controller.Options, sharded func(*rollout.Reconciler),
) error {
	if err := rollout.IndexExternalSecrets(ctx, mgr); err != nil {
		return err
	}
	kinds := rollout.BuiltinKinds()
	if rollout.ArgoRolloutsInstalled(mgr.GetRESTMapper()) {
		kinds = append(kinds, rollout.ArgoRolloutKind())
	}
	slots := make(chan struct{}, max(o.MaxConcurrent, 1))
	changes := rollout.NewChangeTimes()
	for _, k := range kinds {
		r := &rollout.Reconciler{
			Client: mgr.GetClient(), Events: evs, Metrics: rec,
			Kind: k, Options: o, Clock: clock.RealClock{}, Slots: slots, Changes: changes,
		}
		if sharded != nil {
			sharded(r)
		}
		if err := r.SetupWithManager(ctx, mgr, ctrlOpts); err != nil {
			return err
		}
	}
	return nil
}
