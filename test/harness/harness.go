// Package harness starts the real parts Vigil's tests run against: a kube-apiserver and
// etcd built from Go modules (through envtest), optionally kube-controller-manager for
// garbage collection, a moto server for AWS, and Vigil's controller itself. Each test
// package starts them once in TestMain.
//
// A missing binary is a failure, not a skip: `make test` builds them first, and a suite
// that silently skipped its real parts would prove nothing.
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
			return "", fmt.Errorf("%s not found in %s: run `make test-assets` first (it builds the test control plane from Go modules)", b, dir)
		}
	}
	return dir, nil
}

// SeedDir is the project's copy of the seed manifests (shared/fixtures/seed); `make verify`
// fails when the copy differs from the shared original.
func SeedDir() string { return filepath.Join(RepoRoot(), "test", "fixtures", "seed") }
