package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// document is one object read from a file, with its YAML node for the positions of fields.
type document struct {
	obj  *unstructured.Unstructured
	node *yaml.Node // the document's top-level mapping
	file string
	// comments are the comments above the document, where helm template names the source.
	comments string
	// rendered: the document comes from `helm template`; its lines count in the rendered
	// output of its template, not in the template file.
	rendered bool
	// lineOffset is subtracted from the lines of the node: a rendered document's lines count
	// from helm's "# Source:" line above it, so that they match the template's where no
	// action adds or removes lines.
	lineOffset int
}

// line of the document's first field.
func (d document) line() int { return d.node.Line - d.lineOffset }

// where is "file:line" of the document's start, for error messages.
func (d document) where() string { return fmt.Sprintf("%s:%d", d.file, d.line()) }

// reader reads the documents of the paths given to lint, leaving Helm templates aside.
type reader struct {
	stdin io.Reader
	// charts are rendered with --helm-chart: their template files are not read as files.
	charts []string
	// skipped are the Helm template files not linted, for the notice.
	skipped []string
}

// read reads every YAML document of the paths: files, folders of .yaml/.yml/.json files,
// or - for stdin.
func (r *reader) read(paths []string) ([]document, error) {
	var docs []document
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(r.stdin)
			if err != nil {
				return nil, fmt.Errorf("reading stdin: %w", err)
			}
			d, err := r.parse("-", data)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
			continue
		}
		err := filepath.WalkDir(p, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			if path != p && !slices.Contains([]string{".yaml", ".yml", ".json"}, filepath.Ext(path)) {
				return nil
			}
			d, err := r.file(path)
			docs = append(docs, d...)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
	}
	return docs, nil
}

// file reads one file. A Helm template (a file in the templates folder of a chart, or one
// with {{ }} actions that is not YAML) is no manifest yet: it is skipped with a notice,
// unless its chart is rendered with --helm-chart.
func (r *reader) file(path string) ([]document, error) {
	if chart, ok := chartOf(path); ok {
		if !slices.Contains(r.charts, filepath.Clean(chart)) {
			r.skipped = append(r.skipped, path)
		}
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	docs, err := r.parse(path, data)
	if err != nil && hasTemplateActions(data) {
		r.skipped = append(r.skipped, path)
		return nil, nil
	}
	return docs, err
}

// hasTemplateActions reports whether a file holds Go template actions where YAML cannot
// (a line that starts with {{, or an unquoted value that does): a Helm template outside a
// chart. A broken manifest whose quoted strings hold {{ }} (an ExternalSecret's template)
// is still an error.
func hasTemplateActions(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "{{") || strings.Contains(line, ": {{") || strings.HasPrefix(line, "- {{") {
			return true
		}
	}
	return false
}

// chartOf returns the chart folder when path lies in the templates folder of a Helm chart
// (a folder with a Chart.yaml).
func chartOf(path string) (string, bool) {
	for dir := filepath.Dir(path); ; {
		if filepath.Base(dir) == "templates" {
			chart := filepath.Dir(dir)
			if _, err := os.Stat(filepath.Join(chart, "Chart.yaml")); err == nil {
				return chart, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// parse decodes a multi-document YAML (or JSON) file into objects, keeping each document's
// node for the positions of its fields.
func (r *reader) parse(file string, data []byte) ([]document, error) {
	var docs []document
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not valid YAML: %w", file, err)
		}
		d, ok, err := toDocument(file, &n)
		if err != nil {
			return nil, err
		}
		if ok {
			docs = append(docs, d)
		}
	}
}

// toDocument turns one decoded YAML document into an object; an empty document is none.
func toDocument(file string, n *yaml.Node) (document, bool, error) {
	if len(n.Content) == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null") {
		return document{}, false, nil
	}
	top := n.Content[0]
	if top.Kind != yaml.MappingNode {
		return document{}, false, fmt.Errorf("%s:%d:%d: a document must be a YAML mapping (an object)",
			file, top.Line, top.Column)
	}
	if len(top.Content) == 0 {
		return document{}, false, nil
	}
	// The node goes through Kubernetes' own YAML-to-JSON conversion, so that the object is
	// read as kubectl would read it (numbers as int64 or float64, keys as strings).
	text, err := yaml.Marshal(top)
	if err != nil {
		return document{}, false, fmt.Errorf("%s:%d:%d: %w", file, top.Line, top.Column, err)
	}
	raw, err := sigsyaml.YAMLToJSON(text)
	if err != nil {
		return document{}, false, fmt.Errorf("%s:%d:%d: not a valid object: %w", file, top.Line, top.Column, err)
	}
	u := &unstructured.Unstructured{}
	if err := utiljson.Unmarshal(raw, &u.Object); err != nil {
		return document{}, false, fmt.Errorf("%s:%d:%d: %w", file, top.Line, top.Column, err)
	}
	comments := strings.Join([]string{n.HeadComment, top.HeadComment, top.Content[0].HeadComment}, "\n")
	return document{obj: u, node: top, file: file, comments: comments}, true, nil
}

// skippedNotice tells which Helm templates were not linted and how to lint them.
func (r *reader) skippedNotice(w io.Writer) {
	for _, f := range r.skipped {
		hint := "it is a Helm template; pass --helm-chart with its chart folder to lint what it renders"
		if chart, ok := chartOf(f); ok {
			hint = "it is a Helm template; pass --helm-chart " + chart + " to lint what it renders"
		}
		fmt.Fprintf(w, "vigil lint: skipped %s: %s\n", f, hint)
	}
}

func cleanPaths(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Clean(p)
	}
	return out
}
