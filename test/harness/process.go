package harness

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// VigilBinary builds `vigil` from this checkout once per test binary (Go's build cache makes
// later builds quick) and returns its path.
func VigilBinary() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "vigil")
		cmd := exec.Command("go", "build", "-trimpath", "-o", buildBin, "./cmd/vigil") // as `make build`
		cmd.Dir = RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building vigil: %v\n%s", err, out)
		}
	})
	return buildBin, buildErr
}

// Process is `vigil controller` running as its own process against the control plane, as
// it runs in a cluster: for tests of several replicas and for measuring its memory.
type Process struct {
	cmd        *exec.Cmd
	MetricsURL string
	ReadyURL   string
	log        *os.File
	done       chan struct{}
}

// StartVigil runs `vigil controller` with the admin kubeconfig, metrics and probes on free
// loopback ports, and extra flags; its output goes to logPath. The AWS settings of this
// process (moto) are passed on through the environment.
func (cp *ControlPlane) StartVigil(logPath string, flags ...string) (*Process, error) {
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		return nil, err
	}
	return StartVigilWith(kubeconfig, logPath, flags...)
}

// StartVigilWith is StartVigil with another kubeconfig (e.g. one through a proxy).
func StartVigilWith(kubeconfig, logPath string, flags ...string) (*Process, error) {
	bin, err := VigilBinary()
	if err != nil {
		return nil, err
	}
	return StartVigilBinary(bin, kubeconfig, logPath, flags...)
}

// StartVigilIn is StartVigil with the process inside the memory cgroup cg, as in a container
// with cg's memory limit.
func (cp *ControlPlane) StartVigilIn(cg *MemoryCgroup, logPath string, flags ...string) (*Process, error) {
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		return nil, err
	}
	bin, err := VigilBinary()
	if err != nil {
		return nil, err
	}
	return startVigil(cg.Command, bin, kubeconfig, logPath, flags...)
}

// StartVigilBinary is StartVigilWith with a vigil binary built elsewhere (the demo runs the
// bin/vigil that `make build` built).
func StartVigilBinary(bin, kubeconfig, logPath string, flags ...string) (*Process, error) {
	return startVigil(exec.Command, bin, kubeconfig, logPath, flags...)
}

// startVigil runs bin as `vigil controller` through command (exec.Command, or a cgroup's).
func startVigil(
	command func(string, ...string) *exec.Cmd, bin, kubeconfig, logPath string, flags ...string,
) (*Process, error) {
	metricsAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"controller", "--kubeconfig=" + kubeconfig,
		"--metrics-bind-address=" + metricsAddr, "--health-probe-bind-address=" + probeAddr}, flags...)
	p, err := StartProcess(command(bin, args...), logPath, "http://"+metricsAddr+"/metrics")
	if err != nil {
		return nil, err
	}
	p.ReadyURL = "http://" + probeAddr + "/readyz"
	return p, nil
}

// StartProcess starts another controller (ESO, in the comparison benchmark) as a Process:
// its output goes to logPath, its metrics are read at metricsURL.
func StartProcess(cmd *exec.Cmd, logPath, metricsURL string) (*Process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, log: logFile, done: make(chan struct{}), MetricsURL: metricsURL}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", filepath.Base(cmd.Path), err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// WaitReady waits until /readyz answers 200 (caches synced).
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration) error {
	return WaitFor(ctx, timeout, func(ctx context.Context) (bool, error) {
		select {
		case <-p.done:
			return false, fmt.Errorf("vigil exited before it was ready; see %s", p.log.Name())
		default:
		}
		resp, err := http.Get(p.ReadyURL)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// Stop sends SIGTERM (graceful shutdown: in-flight work ends, Leases are released) and
// waits for the process to exit.
func (p *Process) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
}

// Kill ends the process at once (SIGKILL): no graceful shutdown, Leases stay held.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
	p.log.Close()
}

// PeakRSS is the process's peak resident memory in bytes (VmHWM).
func (p *Process) PeakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.cmd.Process.Pid)
}

// Metric reads sum(name{labels}) from the process's /metrics, parsed with expfmt and
// matched on exact label values (see Families.Value).
func (p *Process) Metric(name string, labels map[string]string) (float64, error) {
	f, err := p.Scrape(context.Background())
	if err != nil {
		return 0, err
	}
	v, _ := f.Value(name, labels)
	return v, nil
}

// Scrape reads the process's /metrics.
func (p *Process) Scrape(ctx context.Context) (Families, error) {
	return ScrapeMetrics(ctx, p.MetricsURL)
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }
