// Package e2e holds Vigil's end-to-end scenarios: a real kube-apiserver and etcd (with
// kube-controller-manager for garbage collection), a moto server for AWS, a Vault dev server, and Vigil's
// controller as `vigil controller` wires it. TestMain starts them once for the package.
//
// Tests act through the shared harness (env.T(t), package test/harness). A test that uses
// only its own namespaces (and cluster-scoped objects named after them) calls t.Parallel();
// one that stops or resets a shared part (moto, the controller), changes a suite-wide
// policy, or counts a suite-wide metric stays serial and says why in its first line. go test
// runs the serial tests first and the parallel ones after them, so the two never overlap.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/test/harness"
	"github.com/vigil-dev/vigil/test/harness/gcpsm"
)

var (
	cp         *harness.ControlPlane
	moto       *harness.Moto
	vlt        *harness.Vault
	gsm        *gcpsm.Server // the GCP Secret Manager stand-in (test/harness/gcpsm)
	metricsURL string        // the controller's /metrics
	env        *harness.Env

	// startController starts the suite's controller; stopController stops the running one.
	startController func() (func(), error)
	stopController  func()
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
	if vlt, err = harness.StartVault(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer vlt.Close()
	if gsm, err = gcpsm.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer gsm.Close()
	if cp, err = harness.StartControlPlane(filepath.Join(harness.RepoRoot(), "test", "fixtures", "crds"), filepath.Join(harness.RepoRoot(), "config", "crd-thirdparty")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer func() { _ = cp.Stop() }()
	harness.TrustCluster(gsm, cp.Client)
	logDir, _ := os.MkdirTemp("", "vigil-e2e-")
	if err := cp.StartGarbageCollector(filepath.Join(logDir, "kube-controller-manager.log")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	// The controller logs at its most verbose level into a file that the secrecy check
	// reads after the suite.
	logPath := filepath.Join(logDir, "vigil.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer logFile.Close()
	ctrl.SetLogger(manager.CapVerbosity(zap.New(zap.WriteTo(logFile), zap.Level(zapcore.Level(-10)))))
	rec := harness.Metrics()
	o := harness.TestOptions()
	addr, err := harness.FreeAddr()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	o.MetricsAddr, metricsURL = addr, "http://"+addr+"/metrics"
	awsCfg, err := moto.AWSConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	o.IAM = policy.NewIAMReader(awsCfg, time.Second)
	if err := allowAmbientAWS(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	env = &harness.Env{Client: cp.Client, Moto: moto, MetricsURL: metricsURL, RememberValue: rememberValue}
	startController = func() (func(), error) {
		return harness.StartController(cp.Config, harness.RegistryForControlPlane(rec, cp.Config.Host, harness.WithGCPSM(gsm)), rec, o)
	}
	if stopController, err = startController(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the controller:", err)
		return 1
	}
	defer func() { stopController() }()
	if err := allowLoopbackHTTP(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: allowing the Vault dev server's plain http:", err)
		return 1
	}
	code := m.Run()
	if code == 0 && !testing.Short() && flag.Lookup("test.run").Value.String() == "" {
		if err := checkNoValuesLeaked(context.Background(), cp.Client, logPath); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: secrecy check:", err)
			return 1
		}
	}
	return code
}
