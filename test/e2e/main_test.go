// Package e2e holds Vigil's end-to-end scenarios: a real kube-apiserver and etcd (with
// kube-controller-manager for garbage collection), a moto server for AWS, and Vigil's
// controller as `vigil controller` wires it. TestMain starts them once for the package.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-dev/vigil/test/harness"
)

var (
	cp   *harness.ControlPlane
	moto *harness.Moto
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if moto, err = harness.StartMoto(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer moto.Close()
	if cp, err = harness.StartControlPlane(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer cp.Stop()
	logDir, _ := os.MkdirTemp("", "vigil-e2e-")
	if err := cp.StartGarbageCollector(filepath.Join(logDir, "kube-controller-manager.log")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	stop, err := harness.StartController(cp.Config, harness.Registry(), harness.TestOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the controller:", err)
		return 1
	}
	defer stop()
	_ = context.Background()
	return m.Run()
}
