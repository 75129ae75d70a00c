package rollout

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// MaxPausePeriod bounds deployment.reloader.stakater.com/pause-period: a tenant's typo must
// not hold a Deployment's rollouts for a year.
const MaxPausePeriod = 24 * time.Hour

// pausePeriod reads the pause period of a Deployment, on the Deployment itself as Reloader
// does (not on its pod template); other kinds have none. ok is false when there is none or
// it is refused (err says why).
func pausePeriod(obj client.Object) (d time.Duration, ok bool, err error) {
	if _, isDeployment := obj.(*appsv1.Deployment); !isDeployment {
		return 0, false, nil
	}
	v, set := obj.GetAnnotations()[ReloaderPausePeriod]
	if !set {
		return 0, false, nil
	}
	d, err = time.ParseDuration(v)
	if err != nil || d < time.Second || d > MaxPausePeriod {
		return 0, false, fmt.Errorf("%s must be a duration between 1s and %s (e.g. 5m)", ReloaderPausePeriod, MaxPausePeriod)
	}
	return d, true, nil
}

// beginPause pauses a Deployment with a pause period in the same write that changes its
// template (Reloader's order), so its pods are replaced once, when the period ends, with
// every change of the period. A Deployment already paused by a period stays paused until
// the period that started first ends. It returns when to look again (0: no pause).
func (r *Reconciler) beginPause(obj client.Object, now time.Time) time.Duration {
	d, ok, err := pausePeriod(obj)
	if err != nil {
		r.Metrics.RolloutSkipped("pauseperiod")
		r.Events.Eventf(obj, nil, corev1.EventTypeWarning, "RolloutPauseRefused", "Rollout",
			"%s; rolling out without a pause", err.Error())
		return 0
	}
	if !ok {
		return 0
	}
	dep := obj.(*appsv1.Deployment)
	if dep.Spec.Paused {
		return remainingPause(obj, now)
	}
	dep.Spec.Paused = true
	setObjAnnotation(obj, ReloaderPausedAt, now.UTC().Format(time.RFC3339))
	return d
}

// remainingPause is how long a Deployment paused by a period stays paused; 0 when it is due
// (also when the period was removed or its start cannot be read: Reloader resumes then).
func remainingPause(obj client.Object, now time.Time) time.Duration {
	at, err := time.Parse(time.RFC3339, obj.GetAnnotations()[ReloaderPausedAt])
	if err != nil {
		return 0
	}
	d, ok, _ := pausePeriod(obj)
	if !ok {
		return 0
	}
	return max(at.Add(d).Sub(now), 0)
}

// resumeIfDue resumes a Deployment whose pause period has ended; the state is on the
// Deployment, so a restart or a new leader resumes it too. It returns when to look again.
func (r *Reconciler) resumeIfDue(ctx context.Context, obj client.Object, now time.Time) (time.Duration, error) {
	dep, ok := obj.(*appsv1.Deployment)
	if !ok || !dep.Spec.Paused || obj.GetAnnotations()[ReloaderPausedAt] == "" {
		return 0, nil
	}
	if wait := remainingPause(obj, now); wait > 0 {
		return wait, nil
	}
	before := dep.DeepCopy()
	dep.Spec.Paused = false
	delete(dep.Annotations, ReloaderPausedAt)
	if err := r.Client.Patch(ctx, dep, client.MergeFrom(before)); err != nil {
		return 0, client.IgnoreNotFound(err)
	}
	r.Events.Eventf(obj, nil, corev1.EventTypeNormal, "RolloutResumed", "Rollout",
		"the pause period (%s) has ended; resuming the rollout", ReloaderPausePeriod)
	return 0, nil
}
