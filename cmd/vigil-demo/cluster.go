package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

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

// controller is `bin/vigil controller` (what `make build` built) as its own process.
type controller struct {
	cmd        *exec.Cmd
	metricsURL string
	readyURL   string
	done       chan struct{}
}

// startController runs bin/vigil controller against the control plane, its AWS requests
// through the fault proxy, metrics and probes on free loopback ports.
func (d *demo) startController() error {
	step("Starting bin/vigil controller "+strings.Join(controllerFlags, " "),
		"The flags shorten waits the demo would otherwise sit through; every other setting is the default.")
	metricsAddr, err := harness.FreeAddr()
	if err != nil {
		return err
	}
	probeAddr, err := harness.FreeAddr()
	if err != nil {
		return err
	}
	logFile, err := os.Create(d.log("vigil.log"))
	if err != nil {
		return err
	}
	args := append([]string{"controller", "--kubeconfig", d.kubeconfig,
		"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", probeAddr}, controllerFlags...)
	c := &controller{cmd: exec.Command(filepath.Join(d.root, "bin", "vigil"), args...), done: make(chan struct{}),
		metricsURL: "http://" + metricsAddr + "/metrics", readyURL: "http://" + probeAddr + "/readyz"}
	// The last AWS_ENDPOINT_URL wins: the proxy, not moto itself.
	c.cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+d.proxy.URL)
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("starting bin/vigil (run `make build`): %w", err)
	}
	go func() { _ = c.cmd.Wait(); _ = logFile.Close(); close(c.done) }()
	d.onClose(c.stop)
	d.vigil = c
	d.env.MetricsURL = c.metricsURL
	fmt.Println("    logs:", logFile.Name(), "  metrics:", c.metricsURL)
	return c.waitReady(d.ctx)
}

// waitReady waits until /readyz answers 200: the caches are synced.
func (c *controller) waitReady(ctx context.Context) error {
	return harness.WaitFor(ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		select {
		case <-c.done:
			return false, fmt.Errorf("bin/vigil exited; see its log")
		default:
		}
		resp, err := http.Get(c.readyURL)
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// stop ends the controller gracefully (SIGTERM), at once when it does not stop in time.
func (c *controller) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}
