package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/rollout"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/test/harness"
)

func podTemplate(name string, secrets ...string) corev1.PodTemplateSpec {
	c := corev1.Container{Name: "app", Image: "registry.example/app:1"}
	for _, s := range secrets {
		c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: s}}})
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
	}
}

func deployment(ns, name string, annotations map[string]string, secrets ...string) *appsv1.Deployment {
	one := int32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, secrets...),
		},
	}
}

// replicaSets counts the ReplicaSets kube-controller-manager made for a Deployment.
func replicaSets(t *testing.T, ctx context.Context, ns, name string) int {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := cp.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rs := range list.Items {
		if o := metav1.GetControllerOf(&rs); o != nil && o.Kind == "Deployment" && o.Name == name {
			n++
		}
	}
	return n
}

func waitReplicaSets(t *testing.T, ctx context.Context, ns, name string, want int) {
	t.Helper()
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		return replicaSets(t, ctx, ns, name) == want, nil
	})
	if err != nil {
		t.Fatalf("Deployment %s/%s: %d ReplicaSets, want %d: %v", ns, name, replicaSets(t, ctx, ns, name), want, err)
	}
}

// waitBaseline waits until the rollout controller recorded the workload's Secret hashes.
func waitBaseline(t *testing.T, ctx context.Context, obj client.Object, secret string) {
	t.Helper()
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err
		}
		return strings.Contains(obj.GetAnnotations()[rollout.AnnotationSecretHashes], `"`+secret+`"`), nil
	})
	if err != nil {
		t.Fatalf("%s: no baseline recorded for Secret %s: %v", obj.GetName(), secret, err)
	}
}

// rotate stores a new remote value and force-syncs the ExternalSecret until its Secret holds it.
func rotate(t *testing.T, ns, es, remote, value string) {
	t.Helper()
	h := env.T(t)
	h.PutRemote(remote, `{"password":"`+value+`"}`)
	h.ForceSync(types.NamespacedName{Namespace: ns, Name: es})
	h.WaitSecretValue(ns, es, "password", value)
}

// syncedDeployment sets up the rollout scenario: the remote value <ns>/db synced into the
// Secret db, and a Deployment "api" (with annotations) that consumes it, with its first
// ReplicaSet and its recorded baseline.
func syncedDeployment(t *testing.T, ctx context.Context, password string, annotations map[string]string) (string, types.NamespacedName, *appsv1.Deployment) {
	t.Helper()
	h := env.T(t)
	ns, key := setupDB(t, password, nil)
	h.WaitReason(key, esv1.ReasonSecretSynced)
	d := deployment(ns, "api", annotations, "db")
	h.Create(d)
	waitReplicaSets(t, ctx, ns, "api", 1)
	waitBaseline(t, ctx, d, "db")
	return ns, key, d
}

// quietAfter is how long to watch for a rollout that must not happen, once the last Secret
// or workload change was at last and the positive signals have been seen: every reconcile a
// change queues runs one debounce window after it, and two seconds more cover that pass and
// the ReplicaSet kube-controller-manager would make for it.
func quietAfter(last time.Time) time.Duration {
	return max(time.Until(last.Add(harness.TestOptions().Rollout.Debounce)), 0) + 2*time.Second
}

// assertReplicaSetsStay checks that each Deployment keeps its count of ReplicaSets for the
// window (see quietAfter).
func assertReplicaSetsStay(t *testing.T, ns string, window time.Duration, want map[string]int) {
	t.Helper()
	env.T(t).Consistently(fmt.Sprintf("ReplicaSets of %v", want), window, func(ctx context.Context) (bool, error) {
		for name, n := range want {
			if got := replicaSets(t, ctx, ns, name); got != n {
				t.Errorf("Deployment %s/%s: %d ReplicaSets, want %d", ns, name, got, n)
				return false, nil
			}
		}
		return true, nil
	})
}

func TestRollout_RotationRollsOnceAndOnlyOnChange(t *testing.T) {
	// Not parallel: it restarts the suite's controller.
	h := env.T(t)
	ctx := context.Background()
	ns, key, _ := syncedDeployment(t, ctx, "roll-1", map[string]string{rollout.AnnotationRolloutOnChange: "true"})

	rotate(t, ns, "db", ns+"/db", "roll-2")
	waitReplicaSets(t, ctx, ns, "api", 2)

	// A sync that changes nothing rolls nothing: the new sync is there and the Secret was not
	// written.
	secret := h.Secret(ns, "db")
	prev := h.WaitReason(key, esv1.ReasonSecretSynced).Status.SyncedResourceVersion
	h.ForceSync(key)
	h.WaitSyncedSince(key, prev)
	assertUntouched(t, secret)

	// Nor does a controller restart: the new controller reconciles every workload once, a
	// debounce window after it starts (its reconcile count grows), and then rolls nothing.
	reconciles := func(ctx context.Context) (float64, error) {
		v, _, err := env.MetricValue(ctx, "controller_runtime_reconcile_total", map[string]string{"controller": "rollout-deployment"})
		return v, err
	}
	before, err := reconciles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopController()
	if stopController, err = startController(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	h.Eventually("the restarted controller's first rollout passes", func(ctx context.Context) (bool, error) {
		n, err := reconciles(ctx) // the restarted controller serves /metrics again soon
		return n > before, err
	})
	assertReplicaSetsStay(t, ns, quietAfter(restarted), map[string]int{"api": 2})
	h.WaitEvent(ns, "Deployment", "api", "RolloutTriggered")
	h.WaitEvent(ns, "ExternalSecret", "db", "RolloutTriggered")
}

func TestRollout_TwentySecretsChangingTogetherRollOnce(t *testing.T) {
	// Not parallel: its twenty writes must fall into one debounce window.
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	h.Create(awsStore(ns, "store"))
	var names []string
	for i := range 20 {
		name := fmt.Sprintf("s%02d", i)
		names = append(names, name)
		h.PutRemote(ns+"/"+name, `{"password":"v1-`+name+`"}`)
		h.Create(externalSecret(ns, name, "store", ns+"/"+name, map[string]string{"password": "password"}))
	}
	for _, name := range names {
		h.WaitSecretValue(ns, name, "password", "v1-"+name)
	}
	d := deployment(ns, "api", map[string]string{rollout.ReloaderAuto: "true"}, names...)
	h.Create(d)
	waitReplicaSets(t, ctx, ns, "api", 1)
	waitBaseline(t, ctx, d, names[19])

	// New values first, then twenty force-syncs back to back: the Secrets change together.
	for _, name := range names {
		h.PutRemote(ns+"/"+name, `{"password":"v2-`+name+`"}`)
	}
	for _, name := range names {
		h.ForceSync(types.NamespacedName{Namespace: ns, Name: name})
	}
	for _, name := range names {
		h.WaitSecretValue(ns, name, "password", "v2-"+name)
	}
	written := time.Now() // every Secret holds its new value: the last change was before this
	waitReplicaSets(t, ctx, ns, "api", 2)
	// One rollout for twenty changes: no second one follows.
	assertReplicaSetsStay(t, ns, quietAfter(written), map[string]int{"api": 2})
}

// Reloader's annotations behave as Reloader documents them; no opt-in is never touched, and
// ignore on the Secret wins.
func TestRollout_ReloaderAnnotations(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	h.Create(awsStore(ns, "store"))
	type tc struct {
		name        string
		workload    map[string]string // workload annotations
		secret      map[string]string // annotations the ExternalSecret's template puts on its Secret
		esTargets   bool              // the ExternalSecret names the workload in vigil.dev/rollout-targets
		referenced  bool
		wantRollout bool
	}
	cases := []tc{
		{name: "vigil-on-change", workload: map[string]string{rollout.AnnotationRolloutOnChange: "true"}, referenced: true, wantRollout: true},
		{name: "auto", workload: map[string]string{rollout.ReloaderAuto: "true"}, referenced: true, wantRollout: true},
		{name: "secret-auto", workload: map[string]string{rollout.ReloaderSecretAuto: "true"}, referenced: true, wantRollout: true},
		{name: "reload-list", workload: map[string]string{rollout.ReloaderSecretReload: "other, reload-l.*"}, referenced: false, wantRollout: true},
		{name: "reload-list-anchored", workload: map[string]string{rollout.ReloaderSecretReload: "reload-list-anchore"}, referenced: false, wantRollout: false},
		{name: "search-match", workload: map[string]string{rollout.ReloaderSearch: "true"}, secret: map[string]string{rollout.ReloaderMatch: "true"}, referenced: true, wantRollout: true},
		{name: "search-no-match", workload: map[string]string{rollout.ReloaderSearch: "true"}, referenced: true, wantRollout: false},
		{name: "no-opt-in", referenced: true, wantRollout: false},
		{name: "ignore-wins", workload: map[string]string{rollout.ReloaderAuto: "true"}, secret: map[string]string{rollout.ReloaderIgnore: "true"}, referenced: true, wantRollout: false},
		// rollout-targets restarts only workloads that opted in (test/e2e/rbac_test.go).
		{name: "es-targets", workload: map[string]string{rollout.AnnotationRolloutOnChange: "true"}, esTargets: true, referenced: false, wantRollout: true},
		{name: "es-targets-no-opt-in", esTargets: true, referenced: false, wantRollout: false},
	}
	for _, c := range cases {
		secret := c.name
		h.PutRemote(ns+"/"+secret, `{"password":"a-`+secret+`"}`)
		es := externalSecret(ns, secret, "store", ns+"/"+secret, map[string]string{"password": "password"})
		if c.secret != nil {
			es.Spec.Target.Template = &esv1.ExternalSecretTemplate{Metadata: esv1.ExternalSecretTemplateMetadata{Annotations: c.secret}}
		}
		if c.esTargets {
			es.Annotations = map[string]string{rollout.AnnotationRolloutTargets: "deployment/w-" + c.name}
		}
		h.Create(es)
		h.WaitSecretValue(ns, secret, "password", "a-"+secret)
		var refs []string
		if c.referenced {
			refs = []string{secret}
		}
		d := deployment(ns, "w-"+c.name, c.workload, refs...)
		h.Create(d)
		waitReplicaSets(t, ctx, ns, d.Name, 1)
		if c.wantRollout {
			// The Secret triggers this workload: it rolls only against a recorded baseline.
			waitBaseline(t, ctx, d, secret)
		}
	}
	// A workload that must not roll leaves no trace when it is reconciled. A sentinel
	// created after every case tells when that happened: the debounce queue releases
	// workloads in the order they came, so once the sentinel has its baseline, every case
	// had its first pass (and would have recorded a baseline if it wrongly opted in) before
	// the Secrets rotate.
	sentinel := deployment(ns, "sentinel", map[string]string{rollout.AnnotationRolloutOnChange: "true"}, cases[0].name)
	h.Create(sentinel)
	waitBaseline(t, ctx, sentinel, cases[0].name)
	for _, c := range cases {
		rotate(t, ns, c.name, ns+"/"+c.name, "b-"+c.name)
	}
	rotated := time.Now()
	want := map[string]int{}
	for _, c := range cases {
		want["w-"+c.name] = 1
		if c.wantRollout {
			want["w-"+c.name] = 2
			waitReplicaSets(t, ctx, ns, "w-"+c.name, 2)
		}
	}
	// The workloads that must roll did; those that must not stay as they are.
	assertReplicaSetsStay(t, ns, quietAfter(rotated), want)
}

// A workload whose Secret keeps changing is stopped after the hourly limit, with a Warning
// event and the stopped metric.
func TestRollout_LoopIsStopped(t *testing.T) {
	// Not parallel: it counts the controller's stopped rollouts exactly.
	h := env.T(t)
	ctx := context.Background()
	limit := harness.TestOptions().Rollout.MaxPerHour
	ns, _, _ := syncedDeployment(t, ctx, "loop-0", map[string]string{rollout.ReloaderAuto: "true"})
	stoppedBefore := h.MetricValue(metrics.Rollouts, map[string]string{"kind": "deployment", "result": "stopped"})

	for i := 1; i <= limit; i++ {
		rotate(t, ns, "db", ns+"/db", fmt.Sprintf("loop-%d", i))
		waitReplicaSets(t, ctx, ns, "api", 1+i)
	}
	rotate(t, ns, "db", ns+"/db", "loop-too-many")
	rotated := time.Now()
	// The controller decided (the skip event) and recorded the new hash: no rollout follows.
	h.WaitEvent(ns, "Deployment", "api", "RolloutSkipped")
	assertReplicaSetsStay(t, ns, quietAfter(rotated), map[string]int{"api": 1 + limit})
	if got := h.MetricValue(metrics.Rollouts, map[string]string{"kind": "deployment", "result": "stopped"}); got != stoppedBefore+1 {
		t.Errorf("vigil_rollouts_total{result=stopped} went from %v to %v, want +1", stoppedBefore, got)
	}
}

// A paused Deployment is skipped with an event and rolled once resumed.
func TestRollout_PausedDeploymentWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns, _, d := syncedDeployment(t, ctx, "pause-1", map[string]string{rollout.ReloaderAuto: "true"})
	patchDeployment(t, ctx, d, func(d *appsv1.Deployment) { d.Spec.Paused = true })

	rotate(t, ns, "db", ns+"/db", "pause-2")
	env.T(t).WaitEvent(ns, "Deployment", "api", "RolloutSkipped")
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
		t.Fatal(err)
	}
	if _, rolled := d.Spec.Template.Annotations[rollout.AnnotationSecretHashes]; rolled {
		t.Fatalf("a paused Deployment's template was patched")
	}
	patchDeployment(t, ctx, d, func(d *appsv1.Deployment) { d.Spec.Paused = false })
	waitReplicaSets(t, ctx, ns, "api", 2)
}

// StatefulSets and DaemonSets get their pod template patched; an Argo Rollout with
// rollout-strategy restart gets spec.restartAt (its CRD is installed in this suite).
func TestRollout_StatefulSetDaemonSetAndArgoRollout(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns, key := setupDB(t, "kinds-1", nil)
	h.WaitReason(key, esv1.ReasonSecretSynced)
	auto := map[string]string{rollout.ReloaderAuto: "true"}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db-sts", Annotations: auto}, Spec: appsv1.StatefulSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db-sts"}}, Template: podTemplate("db-sts", "db"),
	}}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent", Annotations: auto}, Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}, Template: podTemplate("agent", "db"),
	}}
	ro := &unstructured.Unstructured{}
	ro.SetGroupVersionKind(rollout.ArgoRolloutGVK)
	ro.SetNamespace(ns)
	ro.SetName("canary")
	// Reloader's "restart" strategy; the default (a new revision through the pod template)
	// is in reloader_parity_test.go.
	ro.SetAnnotations(map[string]string{rollout.ReloaderAuto: "true", rollout.ReloaderRolloutStrategy: "restart"})
	tmpl := podTemplate("canary", "db")
	ro.Object["spec"] = map[string]any{"template": map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "canary"}},
		"spec": map[string]any{"containers": []any{map[string]any{
			"name": "app", "image": tmpl.Spec.Containers[0].Image,
			"envFrom": []any{map[string]any{"secretRef": map[string]any{"name": "db"}}},
		}}},
	}}
	h.Create(sts, ds, ro)
	for _, o := range []client.Object{sts, ds, ro} {
		waitBaseline(t, ctx, o, "db")
	}
	rotate(t, ns, "db", ns+"/db", "kinds-2")
	err := harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		for _, o := range []client.Object{sts, ds, ro} {
			if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return false, err
			}
		}
		restartAt, _, _ := unstructured.NestedString(ro.Object, "spec", "restartAt")
		return sts.Spec.Template.Annotations[rollout.AnnotationSecretHashes] != "" &&
			ds.Spec.Template.Annotations[rollout.AnnotationSecretHashes] != "" && restartAt != "", nil
	})
	if err != nil {
		t.Fatalf("not every kind was rolled: statefulset template %v, daemonset template %v, rollout spec %v: %v",
			sts.Spec.Template.Annotations, ds.Spec.Template.Annotations, ro.Object["spec"], err)
	}
}

func patchDeployment(t *testing.T, ctx context.Context, d *appsv1.Deployment, change func(*appsv1.Deployment)) {
	t.Helper()
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
		t.Fatal(err)
	}
	before := d.DeepCopy()
	change(d)
	if err := cp.Client.Patch(ctx, d, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
}
