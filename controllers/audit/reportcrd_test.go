package audit_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vigil-dev/vigil/controllers/audit"
	"github.com/vigil-dev/vigil/test/harness"
)

// TestAuditWithoutPolicyReportCRD runs against a real API server without the wgpolicyk8s.io
// CRDs: the audit says once, clearly, that it writes no PolicyReports (not an error per
// audit), and writes them again once the CRDs are installed.
func TestAuditWithoutPolicyReportCRD(t *testing.T) {
	cp, err := harness.StartControlPlane() // config/crd only: no PolicyReport CRD
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	var mu sync.Mutex
	var lines []string
	logger := funcr.New(func(_, args string) { mu.Lock(); lines = append(lines, args); mu.Unlock() }, funcr.Options{})
	ctx := log.IntoContext(context.Background(), logger)
	a := audit.NewAuditor(cp.Client, nil, nil, time.Minute)

	for range 3 { // three audits, one log line
		if audit.PolicyReportsServed(a, ctx) {
			t.Fatal("PolicyReports reported as served on a cluster without the CRD")
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "no wgpolicyk8s.io/v1alpha2 PolicyReport CRD") ||
		!strings.Contains(lines[0], "policyReports.installCRD=true") {
		t.Fatalf("want one log line naming the missing CRD and the fix, got %q", lines)
	}

	_, err = envtest.InstallCRDs(cp.Config, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(harness.RepoRoot(), "config", "crd-thirdparty")}, ErrorIfPathMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	// The client's REST mapper discovers the new group on a later lookup.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return audit.PolicyReportsServed(a, ctx), nil
	})
	if err != nil {
		t.Fatalf("the installed PolicyReport CRD was never seen: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 2 || !strings.Contains(lines[1], "writes PolicyReports again") {
		t.Fatalf("want a second line saying the reports are written again, got %q", lines)
	}
}
