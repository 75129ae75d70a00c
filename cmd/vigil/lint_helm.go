package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// renderChart runs `helm template` on a chart folder and reads the manifests it renders.
// Each document is attributed to its template file (helm's "# Source:" comment); its lines
// count in the rendered document.
func renderChart(ctx context.Context, helm, chart string, values []string) ([]document, error) {
	bin, err := exec.LookPath(helm)
	if err != nil {
		return nil, fmt.Errorf("--helm-chart %s needs helm: %w (install helm or pass --helm PATH)", chart, err)
	}
	args := []string{"template", "lint", chart}
	for _, v := range values {
		args = append(args, "--values", v)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm template %s: %w: %s", chart, err, lastLine(stderr.String()))
	}
	docs, err := (&reader{}).parse("helm template "+chart, stdout.Bytes())
	if err != nil {
		return nil, err
	}
	sources := sourceLines(stdout.String())
	for i := range docs {
		docs[i].rendered = true
		for _, l := range sources {
			if l < docs[i].node.Line {
				docs[i].lineOffset = l
			}
		}
		if src := sourceOf(docs[i].comments); src != "" {
			// "chart/templates/x.yaml": the chart's own name, then the path inside it.
			if _, rest, ok := strings.Cut(src, "/"); ok {
				docs[i].file = filepath.Join(chart, filepath.FromSlash(rest))
			}
		}
	}
	return docs, nil
}

// sourceOf returns the template helm names in its "# Source: …" comment above a document.
func sourceOf(comments string) string {
	for _, line := range strings.Split(comments, "\n") {
		if src, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return strings.TrimSpace(src)
		}
	}
	return ""
}

// sourceLines are the numbers of the lines of helm's output that name a template
// ("# Source: …"), in order.
func sourceLines(out string) []int {
	var lines []int
	for i, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "# Source: ") {
			lines = append(lines, i+1)
		}
	}
	return lines
}

// lastLine is the last non-empty line of a tool's error output, capped in length.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	last := lines[len(lines)-1]
	if len(last) > 500 {
		last = last[:500] + "…"
	}
	return last
}
