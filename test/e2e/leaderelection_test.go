package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

// vigilBinary is bin/vigil as `make build` makes it, built once per test run.
func vigilBinary(t *testing.T) string {
	t.Helper()
	bin, err := harness.VigilBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// startVigil runs `vigil controller` as its own process for one namespace and class, with
// leader election in that namespace. The process is killed at the end of the test.
func startVigil(t *testing.T, ns, name string) *exec.Cmd {
	t.Helper()
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	cmd := exec.Command(vigilBinary(t), "controller", "--kubeconfig", kubeconfig,
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--leader-elect", "--leader-election-namespace", ns,
		"--namespace", ns, "--controller-class", "ha")
	cmd.Stdout, cmd.Stderr = logFile, logFile // AWS_ENDPOINT_URL (moto) comes from this process
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func leaseHolder(ctx context.Context, ns string) string {
	var lease coordinationv1.Lease
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "vigil.dev-controller"}, &lease); err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// Two controller processes elect one leader. The leader is killed (SIGKILL, no lease
// release) while it syncs a batch of new ExternalSecrets; the standby takes the lease over
// and every ExternalSecret converges: each Secret exists once, with all its keys.
func TestLeaderElection_StandbyTakesOverAfterKill(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	store := awsStore(ns, "store")
	store.Spec.Controller = "ha"
	h.Create(store)
	remote := ns + "/db"
	h.PutRemote(remote, `{"username":"ha-user-1","password":"ha-pass-1"}`)
	both := map[string]string{"username": "username", "password": "password"}
	h.Create(externalSecret(ns, "first", "store", remote, both))

	first := startVigil(t, ns, "first")
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "first"}, esv1.ReasonSecretSynced)
	leader := leaseHolder(ctx, ns)
	if leader == "" {
		t.Fatal("the syncing process holds no lease")
	}
	startVigil(t, ns, "second")

	const n = 30
	for i := range n {
		h.Create(externalSecret(ns, fmt.Sprintf("batch-%d", i), "store", remote, both))
	}
	if err := first.Process.Kill(); err != nil { // mid-sync, lease not released
		t.Fatal(err)
	}
	_ = first.Wait()

	// The standby takes the lease once it expires (the killed leader never released it):
	// wait for that, since the leader may have synced the whole batch before it was killed.
	h.Eventually("the standby to take the lease over", func(ctx context.Context) (bool, error) {
		holder := leaseHolder(ctx, ns)
		return holder != "" && holder != leader, nil
	})
	for i := range n {
		h.WaitReason(types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("batch-%d", i)}, esv1.ReasonSecretSynced)
	}
	var secrets corev1.SecretList
	if err := cp.Client.List(ctx, &secrets); err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, s := range secrets.Items {
		if s.Namespace != ns {
			continue
		}
		count++
		if string(s.Data["username"]) != "ha-user-1" || string(s.Data["password"]) != "ha-pass-1" {
			t.Errorf("Secret %s has keys %v: partial or wrong data", s.Name, slices.Sorted(maps.Keys(s.Data)))
		}
	}
	if count != n+1 {
		t.Errorf("%d Secrets in %s, want %d (one per ExternalSecret)", count, ns, n+1)
	}
}
