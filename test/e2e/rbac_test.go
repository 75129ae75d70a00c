package e2e

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/rollout"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

// vigil.dev/rollout-targets on an ExternalSecret restarts only workloads of its own namespace
// whose owner opted in (an auto annotation, on the workload or its pod template, or a
// reload list naming the Secret). Anyone who may write an ExternalSecret could otherwise
// restart every workload of the namespace; a target that did not opt in is left alone and
// the ExternalSecret gets a Warning event that says how to opt in.
func TestRolloutTargets_OnlyOptedInWorkloads(t *testing.T) {
	// Not parallel: it counts the controller's notoptedin skips.
	h := env.T(t)
	ctx := context.Background()
	ns, key := setupDB(t, "targets-1", func(es *esv1.ExternalSecret) {
		es.Annotations = map[string]string{rollout.AnnotationRolloutTargets: "deployment/refused, deployment/on-template, deployment/reload-list"}
	})
	h.WaitReason(key, esv1.ReasonSecretSynced)
	// None of them reads the Secret: only rollout-targets could roll them.
	refused := deployment(ns, "refused", nil)
	onTemplate := deployment(ns, "on-template", nil)
	onTemplate.Spec.Template.Annotations = map[string]string{rollout.ReloaderAuto: "true"}
	reloadList := deployment(ns, "reload-list", map[string]string{rollout.ReloaderSecretReload: "db"})
	// A workload of the same name in another namespace, opted in to everything: the
	// annotation never reaches out of the ExternalSecret's namespace.
	other := h.NewNamespace()
	elsewhere := deployment(other, "refused", map[string]string{rollout.AnnotationRolloutOnChange: "true"}, "db")
	for _, d := range []*appsv1.Deployment{refused, onTemplate, reloadList, elsewhere} {
		h.Create(d)
		waitReplicaSets(t, ctx, d.Namespace, d.Name, 1)
	}
	waitBaseline(t, ctx, onTemplate, "db")
	waitBaseline(t, ctx, reloadList, "db")
	// The refusal is reported on the ExternalSecret as soon as the workload is seen.
	h.WaitEvent(ns, "ExternalSecret", key.Name, "RolloutSkipped")

	refusedBefore := h.MetricValue(metrics.RolloutsSkipped, map[string]string{"reason": "notoptedin"})
	rotate(t, ns, key.Name, ns+"/db", "targets-2")
	waitReplicaSets(t, ctx, ns, "on-template", 2)
	waitReplicaSets(t, ctx, ns, "reload-list", 2)
	// The rotation reached the refused workload's reconcile (a positive signal) ...
	if err := harness.WaitFor(ctx, waitTimeout, func(context.Context) (bool, error) {
		return h.MetricValue(metrics.RolloutsSkipped, map[string]string{"reason": "notoptedin"}) > refusedBefore, nil
	}); err != nil {
		t.Fatalf("the refused target was not reconciled after the rotation: %v", err)
	}
	// ... and it was not restarted, nor was the workload of the same name elsewhere.
	for _, d := range []types.NamespacedName{{Namespace: ns, Name: "refused"}, {Namespace: other, Name: "refused"}} {
		if n := replicaSets(t, ctx, d.Namespace, d.Name); n != 1 {
			t.Errorf("Deployment %s was rolled (%d ReplicaSets) though it did not opt in to the ExternalSecret's targets", d, n)
		}
		var got appsv1.Deployment
		if err := cp.Client.Get(ctx, d, &got); err != nil {
			t.Fatal(err)
		}
		if h := got.Spec.Template.Annotations[rollout.AnnotationSecretHashes]; h != "" {
			t.Errorf("Deployment %s: pod template changed (%s=%s)", d, rollout.AnnotationSecretHashes, h)
		}
	}
}
