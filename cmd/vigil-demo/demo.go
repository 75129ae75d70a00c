package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/vigil-dev/vigil/test/harness"
)

// Names of the seed's objects and of the demo's own, in namespace payments.
const (
	namespace  = "payments"
	remoteKey  = "prod/payments/db" // the Secrets Manager secret both ExternalSecrets read
	roleName   = "payments-eso"     // the IAM role of the seed's ServiceAccount
	dbSecret   = "db-credentials"   // ExternalSecret and Secret of 20-externalsecret.yaml
	appConfig  = "app-config"       // ExternalSecret and Secret of 30-externalsecret-datafrom.yaml
	deployment = "payments-api"     // the demo's Deployment, which mounts db-credentials
)

// waitTimeout bounds each wait: generous, since a wait returns as soon as its signal comes
// and CI shares a small machine.
const waitTimeout = 2 * time.Minute

// demo is what the steps share; each step fills in what later ones use.
type demo struct {
	ctx     context.Context
	root    string // the repository
	seed    string // test/fixtures/seed: the seed manifests, applied unchanged
	workDir string // logs of the controller and kube-controller-manager

	moto  *harness.Moto       // AWS: Secrets Manager, IAM, STS
	proxy *harness.FaultProxy // between the controller and moto: the backend breaks here
	value string              // the remote secret's JSON, never printed

	cp         *harness.ControlPlane
	env        *harness.Env // the harness's actions and waits on cp, moto and the controller
	kubeconfig string
	vigil      *harness.Process

	scrapes []scrape // /metrics as read while healthy, broken and healed, for promtool
	closers []func()
}

func newDemo(ctx context.Context) (*demo, error) {
	workDir, err := os.MkdirTemp("", "vigil-demo-")
	if err != nil {
		return nil, err
	}
	return &demo{ctx: ctx, root: harness.RepoRoot(), seed: harness.SeedDir(), workDir: workDir}, nil
}

// close stops what the steps started, the last started first.
func (d *demo) close() {
	for _, c := range slices.Backward(d.closers) {
		c()
	}
}

func (d *demo) onClose(f func()) { d.closers = append(d.closers, f) }

// step prints a step's title and the one line that says what the user sees in it.
func step(title, explanation string) {
	fmt.Printf("\n==> %s\n    %s\n", title, explanation)
}

// key names an object of namespace payments.
func key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: namespace, Name: name}
}

// log is where a part's output goes, in the demo's folder.
func (d *demo) log(name string) string { return filepath.Join(d.workDir, name) }
