package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/vigil-dev/vigil/controllers/manager"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/configuration.md from the flags and the chart's values")

const configDoc = "../../docs/configuration.md"

// TestConfigurationReference keeps docs/configuration.md equal to what the flag set and the
// chart's values.yaml say. `make generate` rewrites it (go test ./cmd/vigil -run
// TestConfigurationReference -update); `make verify` fails when it drifts.
func TestConfigurationReference(t *testing.T) {
	got, err := configurationReference()
	if err != nil {
		t.Fatal(err)
	}
	if *updateDocs {
		if err := os.WriteFile(configDoc, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Fatalf("docs/configuration.md is out of date with the flags or charts/vigil/values.yaml: run `make generate`")
	}
}

func configurationReference() (string, error) {
	var b strings.Builder
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("<!-- Generated from cmd/vigil/flags.go and charts/vigil/values.yaml by `make generate`. Do not edit. -->\n\n")
	b.WriteString("## `vigil controller` flags\n\n")
	b.WriteString("The Helm chart sets these from its values (see below); out of cluster, pass them directly.\n")
	b.WriteString("ESO's controller flags are accepted too (hidden from `--help`): see the table in\n")
	b.WriteString("[migrate-from-eso.md](migrate-from-eso.md#eso-controller-flags).\n\n")
	b.WriteString("| Flag | Default | Description |\n|---|---|---|\n")
	o := manager.Defaults()
	controllerFlags(&o).fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden { // ESO's names, listed in docs/migrate-from-eso.md
			return
		}
		def := f.DefValue
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `--%s` | %s | %s |\n", f.Name, def, cell(f.Usage))
	})
	b.WriteString("\n## Helm values (`charts/vigil`)\n\n")
	b.WriteString("`values.schema.json` refuses unknown values and wrong types at `helm install` time.\n\n")
	b.WriteString("| Value | Default | Description |\n|---|---|---|\n")
	data, err := os.ReadFile(filepath.Join("..", "..", "charts", "vigil", "values.yaml"))
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("charts/vigil/values.yaml: %w", err)
	}
	if err := valueRows(&b, "", doc.Content[0]); err != nil {
		return "", err
	}
	return b.String(), nil
}

// valueRows writes a row for every value with a "# -- description" comment (the helm-docs
// convention) and descends into maps without one.
func valueRows(b *strings.Builder, prefix string, m *yaml.Node) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		path := prefix + key.Value
		desc, ok := description(key.HeadComment)
		if !ok {
			if val.Kind != yaml.MappingNode {
				return fmt.Errorf("charts/vigil/values.yaml: %s has no \"# -- description\" comment", path)
			}
			if err := valueRows(b, path+".", val); err != nil {
				return err
			}
			continue
		}
		plain := *val // without its "# @schema" line comment
		setFlow(&plain)
		plain.Style = val.Style
		def, err := yaml.Marshal(&plain)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "| `%s` | `%s` | %s |\n", path, cell(flowStyle(val, strings.TrimSpace(string(def)))), cell(desc))
	}
	return nil
}

// description returns the text of the last "# --" comment block above a key.
func description(comment string) (string, bool) {
	idx := strings.LastIndex(comment, "# -- ")
	if idx < 0 {
		return "", false
	}
	var parts []string
	for _, line := range strings.Split(comment[idx:], "\n") {
		parts = append(parts, strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(line, "# -- "), "#")))
	}
	// helm-docs' type hint, e.g. "# -- (string) ...", is for its own table.
	desc := strings.Join(parts, " ")
	if rest, ok := strings.CutPrefix(desc, "("); ok {
		if _, after, found := strings.Cut(rest, ") "); found {
			desc = after
		}
	}
	return desc, true
}

// flowStyle renders maps and lists on one line, as a table cell needs.
func flowStyle(n *yaml.Node, block string) string {
	if n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode {
		return block
	}
	c := *n
	c.Style = yaml.FlowStyle
	setFlow(&c)
	out, err := yaml.Marshal(&c)
	if err != nil {
		return block
	}
	return strings.TrimSpace(string(out))
}

func setFlow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		setFlow(c)
	}
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
