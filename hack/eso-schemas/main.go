// Command eso-schemas completes the CRDs controller-gen writes into config/crd with ESO's
// own schema wherever Vigil keeps a free-form object: the providers and generator kinds
// Vigil does not implement (api/externalsecrets/v1/provider_other.go,
// api/generators/v1alpha1/other_types.go, the ClusterGenerator specs). Their Go types stay
// opaque JSON (Vigil never reads them: it refuses them by name), but the API server then
// validates every field of them exactly as ESO's CRD does, so a manifest valid on ESO
// applies and one ESO refuses is refused.
//
// The source is ESO's CRDs pinned in test/fixtures/eso-crds (see its README.md for the
// commit). A node is replaced only when Vigil's schema marks it
// x-kubernetes-preserve-unknown-fields without properties and ESO's node at the same path
// has properties; everything typed in Go stays controller-gen's. `make generate` runs it.
package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

const esoGlob = "test/fixtures/eso-crds/*.yaml.gz"

func main() {
	if err := run("config/crd"); err != nil {
		fmt.Fprintln(os.Stderr, "eso-schemas:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	eso, err := loadESO()
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := spliceFile(f, eso); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// loadESO reads ESO's CRDs keyed by group/kind.
func loadESO() (map[string]map[string]any, error) {
	files, err := filepath.Glob(esoGlob)
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("ESO's CRDs missing: no files match %s", esoGlob)
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		data, err := gunzip(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		var crd map[string]any
		if err := yaml.Unmarshal(data, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out[crdKey(crd)] = crd
	}
	return out, nil
}

func gunzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func crdKey(crd map[string]any) string {
	spec := obj(crd, "spec")
	return str(spec, "group") + "/" + str(obj(spec, "names"), "kind")
}

// spliceFile rewrites one of Vigil's CRD files when ESO has schema for its free-form nodes.
func spliceFile(path string, eso map[string]map[string]any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd map[string]any
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return err
	}
	theirs, ok := eso[crdKey(crd)]
	if !ok {
		return nil
	}
	changed := false
	for _, v := range list(obj(crd, "spec"), "versions") {
		mine := obj(obj(v, "schema"), "openAPIV3Schema")
		if splice(mine, esoSchemas(theirs, str(v, "name"))) {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644) //nolint:gosec // a generated source file
}

// esoSchemas are ESO's schemas to take a node from, in order: the version named name when
// ESO serves it, else ESO's storage version (Vigil serves v1beta1 with v1's schema; ESO keeps
// v1beta1 unserved); then ESO's other versions, for the nodes ESO keeps in an older version
// only (the alibaba and device42 providers, still in its v1beta1 schema).
func esoSchemas(crd map[string]any, name string) []map[string]any {
	var first map[string]any
	var storage, rest []map[string]any
	for _, v := range list(obj(crd, "spec"), "versions") {
		s := obj(obj(v, "schema"), "openAPIV3Schema")
		served, _ := v["served"].(bool)
		stored, _ := v["storage"].(bool)
		switch {
		case served && str(v, "name") == name:
			first = s
		case stored:
			storage = append(storage, s)
		default:
			rest = append(rest, s)
		}
	}
	if first == nil {
		return append(storage, rest...)
	}
	return append(append([]map[string]any{first}, storage...), rest...)
}

// splice replaces each free-form node of mine with the first of theirs (the same node in
// those of ESO's versions that have it, in esoSchemas' order) when that one is typed; it
// reports whether anything changed.
func splice(mine map[string]any, theirs []map[string]any) bool {
	if mine == nil {
		return false
	}
	if freeForm(mine) {
		// The first version that has the node decides, free-form or not: a later version's
		// schema only fills in a node the earlier ones do not have at all.
		if len(theirs) == 0 || freeForm(theirs[0]) {
			return false
		}
		for k := range mine {
			delete(mine, k)
		}
		for k, v := range deepCopy(theirs[0]).(map[string]any) {
			mine[k] = v
		}
		return true
	}
	changed := false
	for name, p := range obj(mine, "properties") {
		pm, _ := p.(map[string]any)
		if splice(pm, children(theirs, func(t map[string]any) map[string]any { return obj(obj(t, "properties"), name) })) {
			changed = true
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if splice(obj(mine, k), children(theirs, func(t map[string]any) map[string]any { return obj(t, k) })) {
			changed = true
		}
	}
	return changed
}

// children maps each candidate to its child node, dropping those without one.
func children(theirs []map[string]any, child func(map[string]any) map[string]any) []map[string]any {
	var out []map[string]any
	for _, t := range theirs {
		if c := child(t); c != nil {
			out = append(out, c)
		}
	}
	return out
}

func freeForm(s map[string]any) bool {
	b, _ := s["x-kubernetes-preserve-unknown-fields"].(bool)
	return b && len(obj(s, "properties")) == 0
}

func obj(m map[string]any, k string) map[string]any {
	if m == nil {
		return nil
	}
	v, _ := m[k].(map[string]any)
	return v
}

func list(m map[string]any, k string) []map[string]any {
	raw, _ := m[k].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		if v, ok := r.(map[string]any); ok {
			out = append(out, v)
		}
	}
	return out
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	default:
		return v
	}
}
