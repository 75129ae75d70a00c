package audit

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vigil-dev/vigil/policy"
)

// The typed report converts to the wgpolicyk8s.io shape that readers (Policy Reporter,
// kubectl's printer columns) look at: summary counts, one result per finding.
func TestBuildReport_HasTheWGPolicyShape(t *testing.T) {
	results := []result{
		{v: policy.Violation{Policy: "builtin", Rule: "r1", Message: "m1", Action: policy.Deny, Path: "spec.x"}, kind: "SecretStore", namespace: "p", name: "s", uid: "u1"},
		{v: policy.Violation{Policy: "team", Rule: "r2", Message: "m2", Action: policy.Warn}, kind: "SecretStore", namespace: "p", name: "s", uid: "u1"},
		{v: policy.Violation{Policy: "team", Rule: "r3", Message: "m3", Action: policy.Audit}, kind: "ExternalSecret", namespace: "p", name: "e", uid: "u2"},
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(buildReport(policyReportGVK, "p", 5, results, time.Unix(1700000000, 0)))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	if u.GetKind() != "PolicyReport" || u.GetAPIVersion() != "wgpolicyk8s.io/v1alpha2" || u.GetName() != ReportName || u.GetNamespace() != "p" {
		t.Errorf("report identity: %s %s %s/%s", u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName())
	}
	for field, want := range map[string]int64{"pass": 3, "fail": 1, "warn": 2, "error": 0, "skip": 0} {
		if got, _, _ := unstructured.NestedInt64(obj, "summary", field); got != want {
			t.Errorf("summary.%s = %d, want %d", field, got, want)
		}
	}
	items, _, _ := unstructured.NestedSlice(obj, "results")
	if len(items) != 3 {
		t.Fatalf("%d results, want 3", len(items))
	}
	first := items[0].(map[string]any)
	seconds, _, _ := unstructured.NestedInt64(first, "timestamp", "seconds")
	kind, _, _ := unstructured.NestedString(first["resources"].([]any)[0].(map[string]any), "kind")
	path, _, _ := unstructured.NestedString(first, "properties", "path")
	if first["result"] != "fail" || first["rule"] != "r1" || seconds != 1700000000 || kind != "SecretStore" || path != "spec.x" {
		t.Errorf("first result: %v", first)
	}
	empty, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(buildReport(clusterPolicyReportGVK, "", 2, nil, time.Now()))
	if rs, found, _ := unstructured.NestedSlice(empty, "results"); !found || len(rs) != 0 {
		t.Errorf("a report with no findings has results %v (found %v), want an empty list", rs, found)
	}
}
