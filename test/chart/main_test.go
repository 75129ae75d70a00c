package chart

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-dev/vigil/test/harness"
)

var (
	cp       *harness.ControlPlane
	moto     *harness.Moto
	vigilBin string // bin/vigil as `make build` builds it
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if moto, err = harness.StartMoto(); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		return 1
	}
	defer moto.Close()
	// The stand-in CRDs let the chart's ServiceMonitor, PrometheusRule and cert-manager
	// objects reach the API server.
	if cp, err = harness.StartControlPlane(filepath.Join(harness.RepoRoot(), "test", "fixtures", "crds"), filepath.Join(harness.RepoRoot(), "config", "crd-thirdparty")); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		return 1
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "chart: stopping the control plane:", err)
		}
	}()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNamespace}}
	if err := cp.Client.Create(context.Background(), ns); err != nil {
		fmt.Fprintln(os.Stderr, "chart: creating the release namespace:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "vigil-chart-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	vigilBin = filepath.Join(dir, "vigil")
	// The same command as `make build`.
	build := exec.Command("go", "build", "-trimpath", "-o", vigilBin, "./cmd/vigil")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Dir, build.Stdout, build.Stderr = harness.RepoRoot(), os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "chart: building vigil:", err)
		return 1
	}
	return m.Run()
}
