// Package bench holds Vigil's benchmarks (`make bench`). Each measures a raw baseline in the
// same run (these machines are noisy) and reports Vigil's figures as ratios against it.
package bench

import (
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vigil-dev/vigil/test/harness"
)

var cp *harness.ControlPlane

func TestMain(m *testing.M) {
	log.SetLogger(logr.Discard()) // the benchmarks' own clients log nothing worth reading
	var err error
	if cp, err = harness.StartControlPlane(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = cp.Stop()
	os.Exit(code)
}
