// Package harness is Vigil's one test harness: every test suite (test/e2e, test/admission,
// test/chart, test/bench) and the demo program import it.
//
// It starts the real parts the tests run against, once per package in TestMain: a
// kube-apiserver and etcd built from Go modules (StartControlPlane, through envtest),
// optionally kube-controller-manager for garbage collection, a moto server for AWS
// (StartMoto), a Vault dev server (StartVault), PostgreSQL (StartPostgres) and Vigil's
// controller in the process (StartController) or as its own process (StartVigil).
// A missing binary is a failure, not a skip: `make test` builds them first, and a suite
// that silently skipped its real parts would prove nothing.
//
// An Env holds what tests act on (client, moto, the controller's /metrics). Its methods take
// a context and return errors, for programs; env.T(t) binds it to one test, and T's methods
// fail the test instead and clean up after it:
//
//   - NewNamespace: a namespace with a generated name, deleted when the test ends.
//   - Create, CreateCluster (cluster-scoped, deleted at the end), Apply (a manifest file,
//     server-side apply), Get, Secret, Delete.
//   - ForceSync: the force-sync annotation, as a user sets it.
//   - WaitReason, WaitReasonWithin, WaitMessage, WaitSyncedSince, WaitRefreshedSince:
//     an ExternalSecret's Ready condition; WaitExternalSecret for any condition.
//   - WaitSecretValue (never prints the value), WaitGone, WaitEvent (events.k8s.io),
//     WaitStore, WaitStoreReason.
//   - PutRemote, DeleteRemote, CreateMotoRole: Secrets Manager values and IAM roles in moto.
//   - Scrape, MetricValue: the controller's /metrics parsed with expfmt; Families.Value is
//     PromQL's sum(name{labels}) with exact label values.
//   - Eventually(what, cond): wait for a positive signal, then assert.
//   - Consistently(what, window, cond): the "nothing happens" assertion; call it after a
//     positive signal that the controller has processed the change, with a short window
//     that covers only what may still follow that signal (see HoldsFor).
//
// WaitFor and HoldsFor are the plain forms of Eventually and Consistently, built on
// k8s.io/apimachinery/pkg/util/wait. No helper sleeps a fixed time.
package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// RepoRoot returns the root of the repository (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("harness: go.mod not found above " + file)
		}
		dir = parent
	}
}

// assetsDir returns the folder with kube-apiserver, etcd and kube-controller-manager.
func assetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "bin", "k8s")
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("%s not found in %s: run `make test-assets` first "+
				"(it builds the test control plane from Go modules)", b, dir)
		}
	}
	return dir, nil
}

// SeedDir is the project's copy of the seed manifests (shared/fixtures/seed); `make verify`
// fails when the copy differs from the shared original.
func SeedDir() string { return filepath.Join(RepoRoot(), "test", "fixtures", "seed") }
