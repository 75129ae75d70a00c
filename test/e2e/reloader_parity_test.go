package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vigil-dev/vigil/controllers/rollout"
	"github.com/vigil-dev/vigil/test/harness"
)

// parity is a control plane of its own (kube-apiserver, etcd, kube-controller-manager with
// the Deployment, ReplicaSet, Job, CronJob and garbage-collector controllers) with a Vigil
// controller at rollouts.scope all. The suite's controller runs at the default scope, and
// two controllers must not share workloads.
type parity struct {
	env *harness.Env
	c   client.Client
}

// TestReloaderParity proves, on workloads whose Secrets and ConfigMaps Vigil did not write,
// that Reloader's annotations keep their meaning once Reloader is uninstalled.
func TestReloaderParity(t *testing.T) {
	p := startParity(t)
	for name, run := range map[string]func(*testing.T, *parity){
		"PodTemplateAnnotationRolls":       testPodTemplateAnnotationRolls,
		"ExcludeAndIgnorePreventIt":        testExcludeAndIgnore,
		"ConfigMapChangeRolls":             testConfigMapChangeRolls,
		"CronJobRunsAJobWithTheNewHash":    testCronJob,
		"JobIsRecreated":                   testJobRecreated,
		"ArgoRestartAndRolloutStrategies":  testArgoStrategies,
		"PausePeriodPausesThenResumes":     testPausePeriod,
		"AnnotationsActOnlyInTheNamespace": testNamespaceBound,
		"OversizedReloadListIsRefused":     testOversizedReloadList,
		"PausePeriodOverTheLimitIsRefused": testPausePeriodRefused,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run(t, p)
		})
	}
}

func startParity(t *testing.T) *parity {
	t.Helper()
	root := harness.RepoRoot()
	pcp, err := harness.StartControlPlane(
		filepath.Join(root, "test", "fixtures", "crds"), filepath.Join(root, "config", "crd-thirdparty"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pcp.Stop() })
	logDir := t.TempDir()
	if err := pcp.StartGarbageCollector(filepath.Join(logDir, "kube-controller-manager.log")); err != nil {
		t.Fatal(err)
	}
	o := harness.TestOptions()
	o.Rollout.Scope = rollout.ScopeAll
	rec := harness.Metrics()
	stop, err := harness.StartController(pcp.Config, harness.RegistryForControlPlane(rec, pcp.Config.Host), rec, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &parity{env: &harness.Env{Client: pcp.Client, NamespacePrefix: "parity-"}, c: pcp.Client}
}

func (p *parity) namespace(t *testing.T) string { return p.env.T(t).NewNamespace() }

func (p *parity) create(t *testing.T, objs ...client.Object) { p.env.T(t).Create(objs...) }

// ann is a set of annotations.
type ann = map[string]string

// plainSecret and plainConfigMap are written by the user, not by Vigil.
func plainSecret(ns, name string, annotations map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Data: map[string][]byte{"password": []byte("v1")}}
}

func plainConfigMap(ns, name, value string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data: map[string]string{"setting": value}}
}

// change writes new data into a Secret or ConfigMap, as a user or another tool would.
func (p *parity) change(t *testing.T, obj client.Object, value string) {
	t.Helper()
	ctx := context.Background()
	if err := p.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	switch o := obj.(type) {
	case *corev1.Secret:
		o.Data["password"] = []byte(value)
	case *corev1.ConfigMap:
		o.Data["setting"] = value
	}
	if err := p.c.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
}

// parityTemplate is a pod template reading the given Secrets and ConfigMaps through envFrom.
func parityTemplate(app string, annotations map[string]string, secrets, configMaps []string) corev1.PodTemplateSpec {
	c := corev1.Container{Name: "app", Image: "registry.example/app:1"}
	for _, s := range secrets {
		ref := corev1.LocalObjectReference{Name: s}
		c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref}})
	}
	for _, cm := range configMaps {
		ref := corev1.LocalObjectReference{Name: cm}
		from := corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: ref}}
		c.EnvFrom = append(c.EnvFrom, from)
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}, Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}, RestartPolicy: corev1.RestartPolicyNever},
	}
}

func parityDeployment(ns, name string, workload, template ann, secrets, configMaps []string) *appsv1.Deployment {
	d := deployment(ns, name, workload)
	d.Spec.Template = parityTemplate(name, template, secrets, configMaps)
	d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
	return d
}

// get reads obj again.
func (p *parity) get(t *testing.T, obj client.Object) {
	t.Helper()
	p.env.T(t).Get(client.ObjectKeyFromObject(obj), obj)
}

// waitFor waits for cond on obj (read again each time); what names the expectation.
func (p *parity) waitFor(t *testing.T, obj client.Object, what string, cond func() bool) {
	t.Helper()
	p.env.T(t).Eventually(obj.GetName()+": "+what, func(ctx context.Context) (bool, error) {
		if err := p.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err
		}
		return cond(), nil
	})
}

// recordOf is the workload's record of the hashes its pods started with.
func recordOf(obj client.Object) map[string]string {
	return parseRecord(obj.GetAnnotations()[rollout.AnnotationSecretHashes])
}

func parseRecord(v string) map[string]string {
	out := map[string]string{}
	_ = json.Unmarshal([]byte(v), &out) // absent or malformed: empty
	return out
}

// waitRecorded waits until the workload's record holds key (its baseline is in place).
func (p *parity) waitRecorded(t *testing.T, obj client.Object, key string) string {
	t.Helper()
	p.waitFor(t, obj, "no baseline for "+key, func() bool { return recordOf(obj)[key] != "" })
	return recordOf(obj)[key]
}

func (p *parity) replicaSets(t *testing.T, ns, name string) int {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := p.c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
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

func (p *parity) waitReplicaSets(t *testing.T, ns, name string, want int) {
	t.Helper()
	what := fmt.Sprintf("Deployment %s/%s to have %d ReplicaSets", ns, name, want)
	p.env.T(t).Eventually(what, func(context.Context) (bool, error) {
		return p.replicaSets(t, ns, name) == want, nil
	})
}

// Annotations on the pod template alone (charts that expose only podAnnotations) opt in,
// and a Secret Vigil did not write rolls the Deployment.
func testPodTemplateAnnotationRolls(t *testing.T, p *parity) {
	ns := p.namespace(t)
	s := plainSecret(ns, "db", nil)
	d := parityDeployment(ns, "api", nil, ann{rollout.ReloaderAuto: "true"}, []string{"db"}, nil)
	p.create(t, s, d)
	p.waitReplicaSets(t, ns, "api", 1)
	p.waitRecorded(t, d, "db")
	p.change(t, s, "v2")
	p.waitReplicaSets(t, ns, "api", 2)
}

// secrets.exclude.reloader.stakater.com/reload and a Secret's reloader.stakater.com/ignore
// keep a Secret out, whatever auto says; another Secret of the same workload still rolls it.
func testExcludeAndIgnore(t *testing.T, p *parity) {
	ns := p.namespace(t)
	excluded := plainSecret(ns, "excluded", nil)
	ignored := plainSecret(ns, "ignored", ann{rollout.ReloaderIgnore: "true"})
	rolls := plainSecret(ns, "rolls", nil)
	d := parityDeployment(ns, "api", ann{rollout.ReloaderAuto: "true", rollout.ReloaderSecretExclude: "excluded"},
		nil, []string{"excluded", "ignored", "rolls"}, nil)
	p.create(t, excluded, ignored, rolls, d)
	p.waitReplicaSets(t, ns, "api", 1)
	before := p.waitRecorded(t, d, "rolls")
	p.change(t, excluded, "v2")
	p.change(t, ignored, "v2")
	p.change(t, rolls, "v2")
	p.waitReplicaSets(t, ns, "api", 2)
	p.waitFor(t, d, "the rollout's record", func() bool { return recordOf(d)["rolls"] != before })
	rec := parseRecord(d.Spec.Template.Annotations[rollout.AnnotationSecretHashes])
	if _, ok := rec["excluded"]; ok {
		t.Errorf("an excluded Secret is part of the rollout's record: %v", rec)
	}
	if _, ok := rec["ignored"]; ok {
		t.Errorf("an ignored Secret is part of the rollout's record: %v", rec)
	}
}

// A ConfigMap change rolls a workload that references it with auto, and one that names it
// in configmap.reloader.stakater.com/reload on its pod template without referencing it.
func testConfigMapChangeRolls(t *testing.T, p *parity) {
	ns := p.namespace(t)
	cm := plainConfigMap(ns, "app-config", "v1")
	auto := parityDeployment(ns, "auto", ann{rollout.ReloaderConfigMapAuto: "true"}, nil, nil, []string{"app-config"})
	named := parityDeployment(ns, "named", nil, ann{rollout.ReloaderConfigMapReload: "app-.*"}, nil, nil)
	p.create(t, cm, auto, named)
	for _, d := range []*appsv1.Deployment{auto, named} {
		p.waitReplicaSets(t, ns, d.Name, 1)
		p.waitRecorded(t, d, "configmap/app-config")
	}
	p.change(t, cm, "v2")
	p.waitReplicaSets(t, ns, "auto", 2)
	p.waitReplicaSets(t, ns, "named", 2)
}

// A CronJob's change runs a Job from its job template at once, as Reloader does, carrying
// the new hash; the CronJob's spec is left alone.
func testCronJob(t *testing.T, p *parity) {
	ns := p.namespace(t)
	s := plainSecret(ns, "backup-key", nil)
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backup", Annotations: ann{rollout.ReloaderAuto: "true"}},
		Spec: batchv1.CronJobSpec{Schedule: "0 0 1 1 *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: parityTemplate("backup", nil, []string{"backup-key"}, nil),
		}}},
	}
	p.create(t, s, cj)
	old := p.waitRecorded(t, cj, "backup-key")
	generation := cj.Generation
	p.change(t, s, "v2")
	var job batchv1.Job
	p.env.T(t).Eventually("a Job run from CronJob backup", func(ctx context.Context) (bool, error) {
		var jobs batchv1.JobList
		if err := p.c.List(ctx, &jobs, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, j := range jobs.Items {
			if o := metav1.GetControllerOf(&j); o != nil && o.Kind == "CronJob" && o.Name == "backup" {
				job = j
				return true, nil
			}
		}
		return false, nil
	})
	got := parseRecord(job.Spec.Template.Annotations[rollout.AnnotationSecretHashes])["backup-key"]
	// The Job is created first and the hash recorded on the CronJob right after.
	p.waitFor(t, cj, "records the new hash", func() bool { return recordOf(cj)["backup-key"] != old })
	if got == "" || got == old || got != recordOf(cj)["backup-key"] {
		t.Errorf("Job %s carries hash %q; want the new one the CronJob recorded (%q, old %q)",
			job.Name, got, recordOf(cj)["backup-key"], old)
	}
	if job.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" {
		t.Errorf("Job %s lacks cronjob.kubernetes.io/instantiate: manual: %v", job.Name, job.Annotations)
	}
	if cj.Generation != generation {
		t.Errorf("the CronJob's spec changed (generation %d -> %d): only its metadata should", generation, cj.Generation)
	}
}

// A Job is deleted and created again under its name, as Reloader does (its pod template
// cannot change); its old pods go with it.
func testJobRecreated(t *testing.T, p *parity) {
	ns := p.namespace(t)
	cm := plainConfigMap(ns, "job-config", "v1")
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "migrate"},
		Spec: batchv1.JobSpec{
			Template: parityTemplate("migrate", ann{rollout.ReloaderAuto: "true"}, nil, []string{"job-config"}),
		},
	}
	p.create(t, cm, job)
	old := p.waitRecorded(t, job, "configmap/job-config")
	oldUID := job.UID
	p.change(t, cm, "v2")
	p.waitFor(t, job, "not recreated", func() bool { return job.UID != oldUID })
	got := parseRecord(job.Spec.Template.Annotations[rollout.AnnotationSecretHashes])["configmap/job-config"]
	if got == "" || got == old {
		t.Errorf("the recreated Job's pod template carries hash %q, want a new one (old %q)", got, old)
	}
	// kube-controller-manager's Job controller starts the new Job's pods.
	p.env.T(t).Eventually("pods of the recreated Job", func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		ofJob := client.MatchingLabels{batchv1.ControllerUidLabel: string(job.UID)}
		err := p.c.List(ctx, &pods, client.InNamespace(ns), ofJob)
		return len(pods.Items) > 0, err
	})
}

func argoRollout(ns, name string, annotations map[string]string) *unstructured.Unstructured {
	ro := &unstructured.Unstructured{}
	ro.SetGroupVersionKind(rollout.ArgoRolloutGVK)
	ro.SetNamespace(ns)
	ro.SetName(name)
	ro.SetAnnotations(annotations)
	ro.Object["spec"] = map[string]any{"template": map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": name}},
		"spec": map[string]any{"containers": []any{map[string]any{
			"name": "app", "image": "registry.example/app:1",
			"envFrom": []any{map[string]any{"secretRef": map[string]any{"name": "db"}}},
		}}},
	}}
	return ro
}

// Argo Rollouts: the default strategy ("rollout") changes the pod template, a new revision
// that goes through the canary steps; "restart" sets spec.restartAt and leaves the template.
func testArgoStrategies(t *testing.T, p *parity) {
	ns := p.namespace(t)
	s := plainSecret(ns, "db", nil)
	byRevision := argoRollout(ns, "by-revision", ann{rollout.ReloaderAuto: "true"})
	restart := ann{rollout.ReloaderAuto: "true", rollout.ReloaderRolloutStrategy: "restart"}
	byRestart := argoRollout(ns, "by-restart", restart)
	p.create(t, s, byRevision, byRestart)
	old := p.waitRecorded(t, byRevision, "db")
	p.waitRecorded(t, byRestart, "db")
	p.change(t, s, "v2")
	templateRecord := func(ro *unstructured.Unstructured) string {
		v, _, _ := unstructured.NestedString(ro.Object,
			"spec", "template", "metadata", "annotations", rollout.AnnotationSecretHashes)
		return parseRecord(v)["db"]
	}
	restartAt := func(ro *unstructured.Unstructured) string {
		v, _, _ := unstructured.NestedString(ro.Object, "spec", "restartAt")
		return v
	}
	p.waitFor(t, byRevision, "a new revision", func() bool {
		return templateRecord(byRevision) != "" && templateRecord(byRevision) != old
	})
	p.waitFor(t, byRestart, "no restartAt", func() bool { return restartAt(byRestart) != "" })
	if v := restartAt(byRevision); v != "" {
		t.Errorf("strategy rollout (default) set spec.restartAt %q", v)
	}
	if v := templateRecord(byRestart); v != "" {
		t.Errorf("strategy restart changed the pod template (a new revision): %q", v)
	}
}

// deployment.reloader.stakater.com/pause-period: the Deployment is paused in the write that
// changes its template, changes of the period join it, and it resumes when the period ends,
// making one new ReplicaSet.
func testPausePeriod(t *testing.T, p *parity) {
	ns := p.namespace(t)
	s := plainSecret(ns, "db", nil)
	d := parityDeployment(ns, "api", ann{rollout.ReloaderAuto: "true", rollout.ReloaderPausePeriod: "30s"},
		nil, []string{"db"}, nil)
	p.create(t, s, d)
	p.waitReplicaSets(t, ns, "api", 1)
	first := p.waitRecorded(t, d, "db")
	p.change(t, s, "v2")
	p.waitFor(t, d, "not paused with the new template", func() bool {
		paused := d.Spec.Paused && d.Annotations[rollout.ReloaderPausedAt] != ""
		return paused && templateHash(d) != "" && templateHash(d) != first
	})
	second, pausedAt := templateHash(d), d.Annotations[rollout.ReloaderPausedAt]
	p.change(t, s, "v3")
	p.waitFor(t, d, "the second change did not reach the paused template", func() bool {
		return templateHash(d) != second && d.Status.ObservedGeneration == d.Generation
	})
	if !d.Spec.Paused || d.Annotations[rollout.ReloaderPausedAt] != pausedAt {
		t.Fatalf("a change during the pause period must keep the first pause (paused %v, at %q, first at %q)",
			d.Spec.Paused, d.Annotations[rollout.ReloaderPausedAt], pausedAt)
	}
	// kube-controller-manager has seen the paused Deployment's latest template: no new
	// ReplicaSet while paused.
	if n := p.replicaSets(t, ns, "api"); n != 1 {
		t.Fatalf("%d ReplicaSets while paused, want 1", n)
	}
	p.waitFor(t, d, "not resumed", func() bool { return !d.Spec.Paused && d.Annotations[rollout.ReloaderPausedAt] == "" })
	p.waitReplicaSets(t, ns, "api", 2)
}

func templateHash(d *appsv1.Deployment) string {
	return parseRecord(d.Spec.Template.Annotations[rollout.AnnotationSecretHashes])["db"]
}

// A reload list matches names in the workload's own namespace only: a tenant's Secret of
// the same name in another namespace rolls nothing there. The Deployment of that other
// namespace, rolled by the same change, is the signal that the change was handled.
func testNamespaceBound(t *testing.T, p *parity) {
	home, other := p.namespace(t), p.namespace(t)
	theirs := plainSecret(other, "shared-name", nil)
	mine := parityDeployment(home, "api", ann{rollout.ReloaderSecretReload: "shared-name"}, nil, nil, nil)
	signal := parityDeployment(other, "signal", ann{rollout.ReloaderAuto: "true"}, nil, []string{"shared-name"}, nil)
	p.create(t, theirs, mine, signal)
	p.waitReplicaSets(t, home, "api", 1)
	p.waitReplicaSets(t, other, "signal", 1)
	p.waitRecorded(t, signal, "shared-name")
	p.change(t, theirs, "v2")
	p.waitReplicaSets(t, other, "signal", 2)
	p.get(t, mine)
	if v := mine.Spec.Template.Annotations[rollout.AnnotationSecretHashes]; v != "" {
		t.Errorf("a Secret of another namespace rolled the Deployment: template record %s", v)
	}
	if n := p.replicaSets(t, home, "api"); n != 1 {
		t.Errorf("%d ReplicaSets in the home namespace, want 1", n)
	}
}

// A reload list over the limit names nothing, and the workload's owner is told why.
func testOversizedReloadList(t *testing.T, p *parity) {
	ns := p.namespace(t)
	list := "db," + strings.Repeat("x", rollout.MaxReloadListLength)
	d := parityDeployment(ns, "api", ann{rollout.ReloaderSecretReload: list}, nil, nil, nil)
	p.create(t, plainSecret(ns, "db", nil), d)
	ev := p.env.T(t).WaitEvent(ns, "Deployment", "api", "RolloutSkipped")
	if !strings.Contains(ev.Note, "over the limit of") {
		t.Errorf("the event does not name the limit: %q", ev.Note)
	}
	p.get(t, d)
	if v := d.Annotations[rollout.AnnotationSecretHashes]; v != "" {
		t.Errorf("an oversized reload list still named a Secret: record %s", v)
	}
}

// A pause period over the limit (24h) pauses nothing: the Deployment rolls at once and its
// owner is told why.
func testPausePeriodRefused(t *testing.T, p *parity) {
	ns := p.namespace(t)
	s := plainSecret(ns, "db", nil)
	d := parityDeployment(ns, "api", ann{rollout.ReloaderAuto: "true", rollout.ReloaderPausePeriod: "48h"},
		nil, []string{"db"}, nil)
	p.create(t, s, d)
	p.waitReplicaSets(t, ns, "api", 1)
	p.waitRecorded(t, d, "db")
	p.change(t, s, "v2")
	ev := p.env.T(t).WaitEvent(ns, "Deployment", "api", "RolloutPauseRefused")
	if !strings.Contains(ev.Note, "between 1s and 24h0m0s") {
		t.Errorf("the event does not name the limit: %q", ev.Note)
	}
	p.waitReplicaSets(t, ns, "api", 2)
	p.get(t, d)
	if d.Spec.Paused {
		t.Error("a refused pause period paused the Deployment")
	}
}
