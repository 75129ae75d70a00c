package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil-dev/vigil/test/harness"
)

// controllerFlags are what the demo sets beyond the defaults, so that it waits seconds where
// a cluster would wait minutes; printed when the controller starts.
var controllerFlags = []string{
	"--rollout-debounce=2s", // default 10s: a burst of Secret changes makes one rollout
	"--retry-max-delay=5s",  // default 5m: longest backoff of a failing ExternalSecret
	"--audit-interval=20s",  // default 10m: the policy audit that writes PolicyReports
}

// startCluster starts kube-apiserver and etcd with the CRDs, and kube-controller-manager.
func (d *demo) startCluster() error {
	step("Starting kube-apiserver, etcd and kube-controller-manager (a few seconds)",
		"A real API server with Vigil's CRDs; kube-controller-manager rolls Deployments out and collects owned objects.")
	cp, err := harness.StartControlPlane(filepath.Join(d.root, "config", "crd-thirdparty"))
	if err != nil {
		return err
	}
	d.onClose(func() { _ = cp.Stop() })
	d.cp = cp
	d.env = &harness.Env{Client: cp.Client, Moto: d.moto, Timeout: waitTimeout}
	if err := cp.StartGarbageCollector(d.log("kube-controller-manager.log")); err != nil {
		return err
	}
	if d.kubeconfig, err = cp.AdminKubeconfig(); err != nil {
		return err
	}
	fmt.Println("    kubeconfig:", d.kubeconfig)
	return nil
}

// startController runs bin/vigil controller against the control plane, its AWS requests
// through the fault proxy, metrics and probes on free loopback ports.
func (d *demo) startController() error {
	step("Starting bin/vigil controller "+strings.Join(controllerFlags, " "),
		"The flags shorten waits the demo would otherwise sit through; every other setting is the default.")
	// The controller inherits the AWS settings of this process: point them at the proxy. The
	// demo's own calls to moto (seeding, rotating) name moto's address themselves.
	if err := os.Setenv("AWS_ENDPOINT_URL", d.proxy.URL); err != nil {
		return err
	}
	p, err := harness.StartVigilBinary(filepath.Join(d.root, "bin", "vigil"), d.kubeconfig, d.log("vigil.log"),
		controllerFlags...)
	if err != nil {
		return fmt.Errorf("starting bin/vigil (run `make build`): %w", err)
	}
	d.onClose(p.Stop)
	d.vigil = p
	d.env.MetricsURL = p.MetricsURL
	fmt.Println("    logs:", d.log("vigil.log"), "  metrics:", p.MetricsURL)
	return p.WaitReady(d.ctx, waitTimeout)
}
