package esodocs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/test/harness"
)

// yamlBlock is a fenced yaml block of a Markdown page.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// The examples of docs/pushsecret.md apply verbatim, as `kubectl apply --dry-run=server
// --validate=strict` would (namespaced objects into the test namespace), on Vigil's CRDs and,
// for ESO's kinds, on ESO's own: what the page shows is what both accept.
func TestPushSecretDocs_ExamplesApply(t *testing.T) {
	page := filepath.Join(harness.RepoRoot(), "docs", "pushsecret.md")
	text, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllStringSubmatch(string(text), -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d yaml examples in docs/pushsecret.md, want at least 4", len(blocks))
	}
	applied := 0
	for i, b := range blocks {
		path := filepath.Join(t.TempDir(), "example.yaml")
		if err := os.WriteFile(path, []byte(b[1]), 0o600); err != nil {
			t.Fatal(err)
		}
		objs, err := harness.ReadManifests(path)
		if err != nil {
			t.Errorf("example %d does not parse: %v", i+1, err)
			continue
		}
		for _, u := range objs {
			if err := dryRun(cp.Client, u); err != nil {
				t.Errorf("example %d: %s %q is refused by Vigil's CRDs: %v", i+1, u.GetKind(), u.GetName(), err)
			}
			applied++
			if !strings.Contains(u.GetAPIVersion(), "external-secrets.io/") {
				continue
			}
			if err := dryRun(eso, u); err != nil {
				t.Errorf("example %d: %s %q is refused by ESO's CRDs: %v", i+1, u.GetKind(), u.GetName(), err)
			}
		}
	}
	t.Logf("%d objects in %d examples applied", applied, len(blocks))
}
