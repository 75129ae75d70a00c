// Package controllers_test holds checks over the controllers tree as a whole.
package controllers_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/vigil-dev/vigil/controllers/"

// shared are packages under controllers/ that hold no reconciler but a piece several use, and
// that test suites outside controllers/ import too (test/e2e and test/bench read shard
// assignments), so they cannot move under controllers/internal/.
var shared = []string{"sharding"}

// No reconciler package leans on another: what several share lives in controllers/internal,
// and only controllers/manager (the wiring) imports the reconcilers. A reconciler that
// imports another drags its whole setup along and makes both harder to change alone.
func TestReconcilersDoNotImportEachOther(t *testing.T) {
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || dir == "." || dir == "manager" {
			return err
		}
		pkg, err := build.ImportDir(dir, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return err
		}
		self := filepath.ToSlash(dir)
		for _, imp := range slices.Concat(pkg.Imports, pkg.TestImports, pkg.XTestImports) {
			other, ok := strings.CutPrefix(imp, module)
			if !ok || other == self || strings.HasPrefix(other, "internal/") || slices.Contains(shared, other) {
				continue
			}
			t.Errorf("controllers/%s imports controllers/%s: move what they share to controllers/internal/", self, other)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
