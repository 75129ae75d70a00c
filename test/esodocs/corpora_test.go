package esodocs

import (
	"path/filepath"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vigil-dev/vigil/test/harness"
)

// Two more corpora, held to the one rule that matters to a user migrating: Vigil's CRDs
// refuse an example only where the ESO release it was written for refuses it too. No list
// of exceptions: an example refused by both is an error in ESO's documentation.
//
//   - test/fixtures/eso-docs-md: the YAML blocks of ESO's documentation pages (docs/**/*.md
//     at the commit of test/fixtures/eso-crds), against ESO's CRDs of that commit.
//   - test/fixtures/eso-0.16/docs: ESO 0.16.2's snippets and page blocks, the last release
//     before v1 was the only version its docs use (v1beta1 throughout, the alibaba and
//     device42 providers), against ESO 0.16.2's CRDs (test/fixtures/eso-0.16/crds).
func TestESODocPages_RefusedOnlyWhereESORefuses(t *testing.T) {
	checkCorpus(t, "eso-docs-md", eso, 150)
}

func TestESO016DocExamples_RefusedOnlyWhereESO016Refuses(t *testing.T) {
	checkCorpus(t, filepath.Join("eso-0.16", "docs"), eso016, 200)
}

// checkCorpus applies every file of test/fixtures/<dir> (at least min of them) and fails for
// each object Vigil's CRDs refuse that control's accept. The kinds Vigil does not serve are
// the ones test/esodocs' notServed names.
func checkCorpus(t *testing.T, dir string, control client.Client, minFiles int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(harness.RepoRoot(), "test", "fixtures", dir, "*.yaml"))
	if err != nil || len(files) < minFiles {
		t.Fatalf("want at least %d examples in test/fixtures/%s, found %d (%v)", minFiles, dir, len(files), err)
	}
	accepted, refusedByBoth := 0, 0
	for _, f := range files {
		for _, o := range applyFile(t, f, control) {
			switch {
			case !o.served:
				if _, listed := notServed[o.kind]; !listed {
					t.Errorf("%s: %s is not served by Vigil: %v", o.file, o.kind, o.err)
				}
			case o.err == nil:
				accepted++
			case o.esoErr == nil:
				t.Errorf("%s: %s %s is accepted by ESO's CRDs but refused by Vigil's: %v", o.file, o.kind, o.name, o.err)
			default:
				refusedByBoth++
			}
		}
	}
	t.Logf("%s: %d files; objects accepted %d, refused by ESO's CRDs too %d", dir, len(files), accepted,
		refusedByBoth)
}
