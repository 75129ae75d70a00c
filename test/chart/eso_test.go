package chart

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// ESO's own default values (testdata/eso-default-values.yaml, copied from ESO's chart) and a
// production values file written for ESO's chart: a team switching installs with them as
// they are.
var (
	esoDefaultValues    = filepath.Join("testdata", "eso-default-values.yaml")
	esoProductionValues = filepath.Join("testdata", "eso-production-values.yaml")
)

// TestESOValuesInstall renders the chart with each ESO values file and sends every object to
// the real API server (server-side apply, dryRun=All).
func TestESOValuesInstall(t *testing.T) {
	ctx := context.Background()
	for name, file := range map[string]string{"eso-default": esoDefaultValues, "eso-production": esoProductionValues} {
		t.Run(name, func(t *testing.T) {
			objs := render(t, file)
			if find(objs, "Deployment", "vigil") == nil {
				t.Fatal("no controller Deployment rendered")
			}
			dryRunApply(ctx, t, objs)
		})
	}
}

// TestESOValuesMeaning checks that the production file's ESO keys do what they do in ESO's
// chart.
func TestESOValuesMeaning(t *testing.T) {
	objs := render(t, esoProductionValues)
	dep := find(objs, "Deployment", "vigil")
	if dep == nil {
		t.Fatal("no Deployment")
	}
	args := deploymentArgs(t, dep)
	for _, want := range []string{
		"--enable-cluster-store-reconciler=false",                // processClusterStore: false
		"--enable-cluster-external-secret-reconciler=true",       // processClusterExternalSecret
		"--retry-max-delay=2m", "--provider-request-timeout=20s", // extraArgs map
		"--leader-election-lease-duration=30s", "--leader-election-renew-deadline=20s",
		"--leader-election-retry-period=5s", "--zap-time-encoding=iso8601",
		"--controller-class=default", // ESO's "" is the default class
		"--concurrent=4", "--webhook-port=10250",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("controller args lack %s: %v", want, args)
		}
	}
	checks := []struct {
		what string
		path []string
		want any
	}{
		{"replicaCount", []string{"spec", "replicas"}, int64(3)},
		{"revisionHistoryLimit", []string{"spec", "revisionHistoryLimit"}, int64(5)},
		{"strategy", []string{"spec", "strategy", "rollingUpdate", "maxUnavailable"}, int64(0)},
		{"deploymentAnnotations", []string{"metadata", "annotations", "reloader.stakater.com/auto"}, "false"},
		{"commonLabels", []string{"metadata", "labels", "cost-center"}, "platform-1234"},
		{"global.podLabels", []string{"spec", "template", "metadata", "labels", "team"}, "platform"},
		{"global.nodeSelector", []string{"spec", "template", "spec", "nodeSelector", "kubernetes.io/os"}, "linux"},
		{"podSecurityContext.enabled=false", []string{"spec", "template", "spec", "securityContext"}, nil},
		{"dnsConfig", []string{"spec", "template", "spec", "dnsConfig", "options"}, []any{map[string]any{"name": "ndots", "value": "2"}}},
	}
	for _, c := range checks {
		got, _, _ := unstructured.NestedFieldNoCopy(dep.Object, c.path...)
		if !equalJSON(got, c.want) {
			t.Errorf("%s: %s = %v, want %v", c.what, strings.Join(c.path, "."), got, c.want)
		}
	}
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
	ctr := pod["containers"].([]any)[0].(map[string]any)
	sc := ctr["securityContext"].(map[string]any)
	if _, ok := sc["enabled"]; ok || !equalJSON(sc["runAsUser"], 1000) {
		t.Errorf("container securityContext = %v: want ESO's, without its `enabled` switch", sc)
	}
	if mounts := ctr["volumeMounts"].([]any); !strings.Contains(toJSON(mounts), "trusted-ca") {
		t.Errorf("extraVolumeMounts missing: %v", mounts)
	}
	if vols := pod["volumes"].([]any); !strings.Contains(toJSON(vols), "corporate-ca") {
		t.Errorf("extraVolumes missing: %v", vols)
	}
	if ps := toJSON(pod["imagePullSecrets"]); !strings.Contains(ps, "registry-credentials") {
		t.Errorf("global.imagePullSecrets not used: %s", ps)
	}
	tsc := pod["topologySpreadConstraints"].([]any)[0].(map[string]any)
	if !strings.Contains(toJSON(tsc["labelSelector"]), `"app.kubernetes.io/instance":"vigil"`) {
		t.Errorf("a topology spread constraint without labelSelector must select the controller pods (as in ESO): %v", tsc)
	}

	if init := toJSON(pod["initContainers"]); !strings.Contains(init, "wait-for-proxy") {
		t.Errorf("extraInitContainers missing: %s", init)
	}
	if cm := find(objs, "ConfigMap", "corporate-ca"); cm == nil || cm.GetNamespace() != releaseNamespace {
		t.Errorf("extraObjects not rendered with tpl (want ConfigMap corporate-ca in %s): %v", releaseNamespace, cm)
	}

	sm := find(objs, "ServiceMonitor", "vigil")
	if sm == nil {
		t.Fatal("no ServiceMonitor")
	}
	ep := toJSON(sm.Object["spec"])
	if sm.GetNamespace() != "monitoring" || !strings.Contains(ep, `"honorLabels":true`) ||
		!strings.Contains(ep, `"metricRelabelings":[{"action":"drop"`) || !strings.Contains(ep, `"targetLabel":"node"`) {
		t.Errorf("ServiceMonitor in %s does not carry serviceMonitor.namespace/honorLabels/relabelings: %s", sm.GetNamespace(), ep)
	}
	cert := find(objs, "Certificate", "vigil-webhook-cert")
	if cert == nil || !strings.Contains(toJSON(cert.Object["spec"]), `"duration":"2160h"`) ||
		!strings.Contains(toJSON(cert.Object["spec"]), `"name":"internal-ca"`) {
		t.Errorf("webhook.certManager.cert.* not used: %v", cert)
	}
	if edit := find(objs, "ClusterRole", "vigil-edit"); edit == nil || edit.GetLabels()["rbac.authorization.k8s.io/aggregate-to-admin"] != "" {
		t.Errorf("rbac.aggregateToAdmin=false still aggregates into admin: %v", edit)
	}
}

// TestESODefaultsMeaning: with ESO's defaults, Vigil runs as ESO's chart would (one replica
// without leader election, ESO's webhook port, no metrics Service).
func TestESODefaultsMeaning(t *testing.T) {
	objs := render(t, esoDefaultValues)
	args := deploymentArgs(t, find(objs, "Deployment", "vigil"))
	for _, want := range []string{"--leader-elect=false", "--concurrent=1", "--controller-class=default", "--webhook-port=10250", "--zap-time-encoding=epoch"} {
		if !slices.Contains(args, want) {
			t.Errorf("controller args lack %s: %v", want, args)
		}
	}
	if find(objs, "Service", "vigil-metrics") != nil {
		t.Error("metrics.service.enabled=false (ESO's default) still renders the metrics Service")
	}
}

// TestESOLogLevels: ESO's log levels that controller-runtime's --zap-log-level does not
// know (warn, dpanic, panic, fatal) reach the controller as ESO's --loglevel, which the
// controller reads with ESO's meaning; the others stay --zap-log-level.
func TestESOLogLevels(t *testing.T) {
	for level, want := range map[string]string{
		"warn": "--loglevel=warn", "fatal": "--loglevel=fatal", "debug": "--zap-log-level=debug", "2": "--zap-log-level=2",
	} {
		objs := render(t, writeValues(t, "log:\n  level: \""+level+"\"\n"))
		if args := deploymentArgs(t, find(objs, "Deployment", "vigil")); !slices.Contains(args, want) {
			t.Errorf("log.level %s: controller args lack %s: %v", level, want, args)
		}
	}
}

// TestESOKeysAccounted: every key of ESO's default values is either a Vigil value (with
// ESO's meaning) or listed in compat/eso-ignored.yaml, so NOTES.txt can name it.
func TestESOKeysAccounted(t *testing.T) {
	eso := readYAML[map[string]any](t, esoDefaultValues)
	vigil := readYAML[map[string]any](t, filepath.Join(chartDir(), "values.yaml"))
	var ignored []string
	for _, g := range readYAML[[]struct {
		Keys map[string]any `json:"keys"`
	}](t, filepath.Join(chartDir(), "compat", "eso-ignored.yaml")) {
		for k := range g.Keys {
			ignored = append(ignored, k)
		}
	}
	// Vigil passes these objects through as they are, with whatever keys ESO's file has.
	passThrough := []string{"securityContext", "podSecurityContext", "webhook.certManager.cert.issuerRef"}
	for _, key := range leafKeys(eso, "") {
		if hasPath(vigil, key) || slices.ContainsFunc(passThrough, func(p string) bool { return strings.HasPrefix(key, p+".") }) {
			continue
		}
		if !slices.ContainsFunc(ignored, func(k string) bool { return key == k || strings.HasPrefix(key, k+".") }) {
			t.Errorf("ESO value %s is neither a Vigil value nor listed in compat/eso-ignored.yaml", key)
		}
	}
}

// TestNOTESListsIgnoredESOValues runs helm install --dry-run against the API server and reads
// the notes a user sees: nothing for Vigil's defaults, the gaps for ESO's defaults, and each
// ignored key the production file sets.
func TestNOTESListsIgnoredESOValues(t *testing.T) {
	for _, tc := range []struct {
		name       string
		files      []string
		want, none []string
	}{
		{"vigil defaults", nil, nil, []string{"WARNING"}},
		{"eso defaults", []string{esoDefaultValues},
			[]string{"- processClusterGenerator, processClusterPushSecret, processPushSecret: Vigil has no PushSecret"},
			[]string{"webhook.", "certController", "livenessProbe", "crds.", "metrics.listen"}},
		{"eso production", []string{esoProductionValues},
			[]string{"- webhook.podDisruptionBudget, webhook.replicaCount, webhook.resources: ESO's separate webhook Deployment",
				"- certController: Vigil has no cert-controller Deployment", "- processPushSecret: Vigil has no PushSecret"},
			[]string{"crds.", "webhook.port", "webhook.create", "global"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notes := installNotes(t, tc.files...)
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			for _, n := range tc.none {
				if strings.Contains(notes, n) {
					t.Errorf("NOTES mention %q:\n%s", n, notes)
				}
			}
		})
	}
}

// installNotes is the NOTES section of `helm install --dry-run=server` against the test API
// server. helm install (unlike helm template) checks Chart.yaml's kubeVersion against the
// server, and the test kube-apiserver, built from Go modules, reports v0.0.0: the chart is
// installed from a copy without that one line.
func installNotes(t *testing.T, files ...string) string {
	t.Helper()
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "vigil")
	if err := os.CopyFS(dir, os.DirFS(chartDir())); err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(meta), "\n") {
		if !strings.HasPrefix(l, "kubeVersion:") {
			lines = append(lines, l)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"install", "notes", dir, "--namespace", releaseNamespace, "--dry-run=server", "--kubeconfig", kubeconfig}
	for _, f := range files {
		args = append(args, "--values", f)
	}
	// The test API server has the CRDs already, not owned by a Helm release.
	args = append(args, "--set", "installCRDs=false")
	out := string(helm(t, args...))
	_, notes, ok := strings.Cut(out, "\nNOTES:\n")
	if !ok {
		t.Fatalf("no NOTES in helm install output:\n%s", tail(out, 2000))
	}
	return notes
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	return nil
}

func readYAML[T any](t *testing.T, path string) T {
	t.Helper()
	var v T
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// leafKeys lists the dotted paths of the values that are not non-empty maps.
func leafKeys(m map[string]any, prefix string) []string {
	var out []string
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			out = append(out, leafKeys(sub, prefix+k+".")...)
			continue
		}
		out = append(out, prefix+k)
	}
	return out
}

func hasPath(m map[string]any, key string) bool {
	var cur any = m
	for _, part := range strings.Split(key, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = mm[part]; !ok {
			return false
		}
	}
	return true
}

func toJSON(v any) string {
	b, _ := yaml.Marshal(v)
	j, _ := yaml.YAMLToJSON(b)
	return string(j)
}

func equalJSON(a, b any) bool { return toJSON(a) == toJSON(b) }

// TestESOScopedRBACAlone: ESO's scopedRBAC without scopedNamespace scopes the installation to
// the release namespace, as ESO's chart does; the API server then lets the controller's
// ServiceAccount read Secrets there and nowhere else.
func TestESOScopedRBACAlone(t *testing.T) {
	ctx := context.Background()
	values := "fullnameOverride: eso-scoped\nscopedRBAC: true\n"
	args := deploymentArgs(t, find(render(t, writeValues(t, values)), "Deployment", "eso-scoped"))
	for _, want := range []string{"--namespace=" + releaseNamespace, "--enable-cluster-store-reconciler=false"} {
		if !slices.Contains(args, want) {
			t.Errorf("controller args lack %s: %v", want, args)
		}
	}
	sa := installRBAC(ctx, t, values)
	for _, a := range []access{
		{"list", "", "secrets", releaseNamespace, "", true},
		{"list", "", "secrets", "team-x", "", false},
		{"list", "external-secrets.io", "externalsecrets", "", "", false},
		{"list", "external-secrets.io", "clustersecretstores", "", "", false},
	} {
		if got := can(ctx, t, sa, a); got != a.allowed {
			t.Errorf("%s: allowed=%v, want %v", a, got, a.allowed)
		}
	}
}
