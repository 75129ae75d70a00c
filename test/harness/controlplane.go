package harness

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/vigil-dev/vigil/controllers/manager"
)

// ControlPlane is a running kube-apiserver and etcd with Vigil's CRDs installed.
type ControlPlane struct {
	Env    *envtest.Environment
	Config *rest.Config
	Client client.Client

	kcm *exec.Cmd
}

// StartControlPlane starts the API server and etcd and installs the CRDs of config/crd and
// of any extra folders (e.g. test/fixtures/crds for third-party kinds).
func StartControlPlane(extraCRDDirs ...string) (*ControlPlane, error) {
	return StartControlPlaneWithCRDs(append([]string{filepath.Join(RepoRoot(), "config", "crd")}, extraCRDDirs...)...)
}

// StartControlPlaneWithCRDs starts the API server and etcd with the CRDs of crdDirs only
// (ESO's own CRDs, for the comparison benchmark).
func StartControlPlaneWithCRDs(crdDirs ...string) (*ControlPlane, error) {
	dir, err := assetsDir()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", dir, err)
	}
	scheme, err := manager.NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &ControlPlane{Env: env, Config: cfg, Client: c}, nil
}

// StartGarbageCollector runs kube-controller-manager with the garbage collector and the
// Deployment, ReplicaSet, Job and CronJob controllers, so that owned objects go with their
// owners and Deployments roll out, Jobs make pods and CronJobs run as in a real cluster. Its
// output goes to logPath.
func (cp *ControlPlane) StartGarbageCollector(logPath string) error {
	bin := filepath.Join(cp.Env.BinaryAssetsDirectory, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("kube-controller-manager not found in %s: run `make test-assets`", cp.Env.BinaryAssetsDirectory)
	}
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		return err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin,
		"--kubeconfig="+kubeconfig,
		"--controllers=deployment,replicaset,garbagecollector,job,cronjob",
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-gc-syncs=5",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	cp.kcm = cmd
	return nil
}

// KubeconfigVia writes a copy of the admin kubeconfig whose server is addr (host:port,
// e.g. a TCPProxy in front of the API server) and returns its path.
func (cp *ControlPlane) KubeconfigVia(addr string) (string, error) {
	path, err := cp.AdminKubeconfig()
	if err != nil {
		return "", err
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return "", err
	}
	for _, c := range cfg.Clusters {
		c.Server = "https://" + addr
	}
	via := strings.TrimSuffix(path, ".kubeconfig") + "-via-" + strings.ReplaceAll(addr, ":", "-") + ".kubeconfig"
	return via, clientcmd.WriteToFile(*cfg, via)
}

// APIServerAddr is the API server's host:port.
func (cp *ControlPlane) APIServerAddr() string {
	u, _ := url.Parse(cp.Config.Host)
	return u.Host
}

// AdminKubeconfig writes a kubeconfig for a cluster-admin user and returns its path.
func (cp *ControlPlane) AdminKubeconfig() (string, error) {
	user, err := cp.Env.AddUser(envtest.User{Name: "vigil-admin", Groups: []string{"system:masters"}}, cp.Config)
	if err != nil {
		return "", fmt.Errorf("adding an admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cp.Env.ControlPlane.APIServer.CertDir, "admin.kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// Stop stops everything the control plane started.
func (cp *ControlPlane) Stop() error {
	if cp.kcm != nil && cp.kcm.Process != nil {
		_ = cp.kcm.Process.Kill()
		_ = cp.kcm.Wait()
	}
	return cp.Env.Stop()
}
