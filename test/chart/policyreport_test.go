package chart

import (
	"context"
	"testing"
)

// TestPolicyReportCRDOptional: policyReports.installCRD ships the Policy WG's PolicyReport and
// ClusterPolicyReport CRDs (kept on uninstall) and the API server accepts them; by default the
// chart leaves them to whoever installs them already.
func TestPolicyReportCRDOptional(t *testing.T) {
	for _, name := range []string{"policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io"} {
		if find(render(t), "CustomResourceDefinition", name) != nil {
			t.Errorf("the default install renders %s", name)
		}
	}
	objs := render(t, writeValues(t, "installCRDs: false\npolicyReports:\n  installCRD: true\n"))
	if len(objs) == 0 {
		t.Fatal("nothing rendered")
	}
	var crds = objs[:0:0]
	for _, name := range []string{"policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io"} {
		crd := find(objs, "CustomResourceDefinition", name)
		if crd == nil {
			t.Fatalf("policyReports.installCRD=true does not render %s", name)
		}
		if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("%s lacks helm.sh/resource-policy=keep: helm uninstall would delete every report", name)
		}
		crds = append(crds, crd)
	}
	dryRunApply(context.Background(), t, crds)
}
