package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/test/harness"
)

// TestDockerfile checks the image recipe where no Docker engine can build it: the binary is
// built by `make build` (so the image runs what the tests ran) and the final stage is a
// distroless image running as the non-root user the chart's securityContext expects.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(string(data), -1)
	if len(stages) != 2 {
		t.Fatalf("want a two-stage Dockerfile (build, runtime), got %d FROM lines", len(stages))
	}
	if !strings.HasPrefix(stages[1][1], "gcr.io/distroless/static") || !strings.HasSuffix(stages[1][1], ":nonroot") {
		t.Errorf("runtime stage %s is not distroless static nonroot", stages[1][1])
	}
	if !regexp.MustCompile(`(?m)^RUN make build$`).Match(data) {
		t.Error("the build stage does not run `make build`")
	}
	if !regexp.MustCompile(`(?m)^USER 65532:65532$`).Match(data) {
		t.Error("the image does not run as 65532 (the chart's runAsUser)")
	}
	makefile, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	// A static binary is what distroless/static can run.
	if !strings.Contains(string(makefile), "CGO_ENABLED=0 go build -trimpath -o $(BIN)/vigil ./cmd/vigil") {
		t.Error("make build no longer builds a static bin/vigil (CGO_ENABLED=0): update the Dockerfile and this test together")
	}
}
