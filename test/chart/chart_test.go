// Package chart tests the Helm chart in charts/vigil: helm lint, golden files of helm
// template, the rendered manifests sent to a real API server (server-side dry-run), and the
// controller run out of cluster with exactly the chart's ServiceAccount identity and flags
// through the seed scenario, the API server enforcing RBAC.
//
// Update the golden files after an intended chart change with
//
//	go test ./test/chart -run TestGolden -update
package chart

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/vigil-dev/vigil/test/harness"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current chart")

const releaseNamespace = "vigil-system"

func chartDir() string { return filepath.Join(harness.RepoRoot(), "charts", "vigil") }

// helm runs bin/helm (built from helm.sh/helm/v3 by `make test-assets`).
func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := filepath.Join(harness.RepoRoot(), "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("bin/helm not found: run `make test-assets` (it builds helm from Go modules)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, stderr.String(), out)
	}
	return out
}

// render runs helm template as `helm install vigil charts/vigil -n vigil-system` would.
// --kube-version stands in for the cluster's version, which helm template cannot ask for.
func render(t *testing.T, valuesFiles ...string) []*unstructured.Unstructured {
	t.Helper()
	return decode(t, renderRaw(t, valuesFiles...))
}

func renderRaw(t *testing.T, valuesFiles ...string) []byte {
	t.Helper()
	args := []string{"template", "vigil", chartDir(), "--namespace", releaseNamespace, "--kube-version", "1.37.2"}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	return helm(t, args...)
}

func decode(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("decoding helm template output: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

var fullValues = filepath.Join("testdata", "full-values.yaml")

func TestHelmLint(t *testing.T) {
	for name, files := range map[string][]string{"default": nil, "full": {fullValues},
		"eso-default": {esoDefaultValues}, "eso-production": {esoProductionValues}} {
		t.Run(name, func(t *testing.T) {
			args := []string{"lint", chartDir(), "--strict", "--kube-version", "1.37.2"}
			for _, f := range files {
				args = append(args, "--values", f)
			}
			out := helm(t, args...)
			if !strings.Contains(string(out), "0 chart(s) failed") {
				t.Fatalf("helm lint:\n%s", out)
			}
		})
	}
}

// TestGolden compares helm template's output, without the CRDs (TestCRDsAreTheGeneratedOnes
// checks those), with testdata/*.golden.yaml.
func TestGolden(t *testing.T) {
	for name, files := range map[string][]string{"default": nil, "full": {fullValues}} {
		t.Run(name, func(t *testing.T) {
			var docs []string
			for _, doc := range strings.Split(string(renderRaw(t, files...)), "\n---\n") {
				if !strings.Contains(doc, "\nkind: CustomResourceDefinition\n") {
					docs = append(docs, strings.TrimPrefix(doc, "---\n"))
				}
			}
			got := strings.Join(docs, "\n---\n")
			path := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (create it with -update)", err)
			}
			if got != string(want) {
				t.Fatalf("helm template differs from %s; if the change is intended, run\n  go test ./test/chart -run TestGolden -update\nand review the diff.\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the first lines where two texts differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  golden:   %q\n  rendered: %q", i+1, wl, gl)
		}
	}
	return ""
}

func TestCRDsAreTheGeneratedOnes(t *testing.T) {
	rendered := map[string]*unstructured.Unstructured{}
	for _, u := range render(t) {
		if u.GetKind() == "CustomResourceDefinition" {
			rendered[u.GetName()] = u
		}
	}
	paths, _ := filepath.Glob(filepath.Join(harness.RepoRoot(), "config", "crd", "*.yaml"))
	if len(paths) == 0 || len(rendered) != len(paths) {
		t.Fatalf("chart renders %d CRDs, config/crd has %d", len(rendered), len(paths))
	}
	for _, p := range paths {
		objs, err := harness.ReadManifests(p)
		if err != nil {
			t.Fatal(err)
		}
		want := objs[0]
		got := rendered[want.GetName()]
		if got == nil {
			t.Fatalf("CRD %s is not in the chart", want.GetName())
		}
		if got.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy=keep: helm uninstall would delete every %s", got.GetName(), got.GetName())
		}
		wantSpec, _ := yaml.Marshal(want.Object["spec"])
		gotSpec, _ := yaml.Marshal(got.Object["spec"])
		if !bytes.Equal(wantSpec, gotSpec) {
			t.Errorf("CRD %s in the chart differs from config/crd: run `make generate`", got.GetName())
		}
	}

	for _, u := range render(t, writeValues(t, "installCRDs: false\n")) {
		if u.GetKind() == "CustomResourceDefinition" {
			t.Errorf("installCRDs=false still renders CRD %s", u.GetName())
		}
	}
}

func writeValues(t *testing.T, values string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBadValuesRefused: values.schema.json turns a typo or a wrong type into an error that
// names the value, before anything reaches the cluster.
func TestBadValuesRefused(t *testing.T) {
	bin := filepath.Join(harness.RepoRoot(), "bin", "helm")
	for _, tc := range []struct{ name, values, want string }{
		{"unknown top-level value", "replicas: 2\n", "additional properties 'replicas' not allowed"},
		{"failurePolicy out of its enum", "webhook:\n  failurePolicy: Never\n", "/webhook/failurePolicy"},
		{"duration without a unit", "rollouts:\n  debounce: 10\n", "/rollouts/debounce"},
		{"negative replicas", "replicaCount: -1\n", "/replicaCount"},
		{"extraArgs neither a map nor a list", "extraArgs: --retry-max-delay=3m\n", "/extraArgs"},
		{"unknown key in an ESO section Vigil owns", "serviceMonitor:\n  relabeling: []\n", "additional properties 'relabeling' not allowed"},
		{"ServiceMonitor required but its CRD missing", "serviceMonitor:\n  enabled: true\n  renderMode: failIfMissing\n", "serviceMonitor.renderMode=failIfMissing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(bin, "template", "vigil", chartDir(), "--kube-version", "1.37.2", "--values", writeValues(t, tc.values)).CombinedOutput()
			if err == nil {
				t.Fatalf("helm template accepted %q", tc.values)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("error does not say %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestSecureDefaults checks what a security review of the default install looks for.
func TestSecureDefaults(t *testing.T) {
	var dep *unstructured.Unstructured
	for _, u := range render(t) {
		if u.GetKind() == "Deployment" {
			dep = u
		}
		if u.GetKind() == "ClusterRole" || u.GetKind() == "Role" {
			rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
			for _, r := range rules {
				rule := r.(map[string]any)
				for _, field := range []string{"verbs", "resources", "apiGroups"} {
					for _, v := range asStrings(rule[field]) {
						if v == "*" {
							t.Errorf("%s %s grants a wildcard in %s: %v", u.GetKind(), u.GetName(), field, rule)
						}
					}
				}
			}
		}
	}
	if dep == nil {
		t.Fatal("no Deployment rendered")
	}
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	ctr := containers[0].(map[string]any)
	for _, tc := range []struct {
		path []string
		obj  map[string]any
		want any
	}{
		{[]string{"securityContext", "runAsNonRoot"}, pod, true},
		{[]string{"securityContext", "seccompProfile", "type"}, pod, "RuntimeDefault"},
		{[]string{"securityContext", "readOnlyRootFilesystem"}, ctr, true},
		{[]string{"securityContext", "allowPrivilegeEscalation"}, ctr, false},
	} {
		got, _, _ := unstructured.NestedFieldNoCopy(tc.obj, tc.path...)
		if got != tc.want {
			t.Errorf("%s = %v, want %v", strings.Join(tc.path, "."), got, tc.want)
		}
	}
	for _, kind := range []string{"requests", "limits"} {
		for _, res := range []string{"cpu", "memory"} {
			if v, _, _ := unstructured.NestedString(ctr, "resources", kind, res); v == "" {
				t.Errorf("resources.%s.%s is not set", kind, res)
			}
		}
	}
}

func asStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestServerSideDryRun sends every object the chart renders (default and full values) to the
// real API server with dryRun=All: schemas, RBAC objects and the webhook configuration must be
// accepted as they are.
func TestServerSideDryRun(t *testing.T) {
	ctx := context.Background()
	for name, files := range map[string][]string{"default": nil, "full": {fullValues}} {
		t.Run(name, func(t *testing.T) {
			dryRunApply(ctx, t, render(t, files...))
		})
	}
}

// dryRunApply sends each object to the API server as a server-side apply with dryRun=All.
func dryRunApply(ctx context.Context, t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, u := range objs {
		// scopedNamespace's Role goes into a namespace the user creates first.
		if ns := u.GetNamespace(); ns != "" {
			ensureNamespace(ctx, t, ns)
		}
		err := cp.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("helm"), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("%s %s refused by the API server: %v", u.GetKind(), u.GetName(), err)
		}
	}
}
