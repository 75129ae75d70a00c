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
		ev := esoVersion(theirs, str(v, "name"))
		if ev == nil {
			continue
		}
		mine := obj(obj(v, "schema"), "openAPIV3Schema")
		if splice(mine, obj(obj(ev, "schema"), "openAPIV3Schema")) {
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

// esoVersion is ESO's schema of the version named name when ESO serves it, else of ESO's
// storage version (Vigil serves v1beta1 with v1's schema; ESO keeps v1beta1 unserved).
func esoVersion(crd map[string]any, name string) map[string]any {
	var storage map[string]any
	for _, v := range list(obj(crd, "spec"), "versions") {
		if served, _ := v["served"].(bool); served && str(v, "name") == name {
			return v
		}
		if b, _ := v["storage"].(bool); b {
			storage = v
		}
	}
	return storage
}

// splice replaces each free-form node of mine that is typed in theirs; it reports whether
// anything changed.
func splice(mine, theirs map[string]any) bool {
	if mine == nil || theirs == nil {
		return false
	}
	if freeForm(mine) && !freeForm(theirs) {
		for k := range mine {
			delete(mine, k)
		}
		for k, v := range deepCopy(theirs).(map[string]any) {
			mine[k] = v
		}
		return true
	}
	changed := false
	theirProps := obj(theirs, "properties")
	for name, p := range obj(mine, "properties") {
		pm, _ := p.(map[string]any)
		if splice(pm, obj(theirProps, name)) {
			changed = true
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if splice(obj(mine, k), obj(theirs, k)) {
			changed = true
		}
	}
	return changed
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
