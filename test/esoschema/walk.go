// Package esoschema compares Vigil's CustomResourceDefinitions (config/crd) with ESO's
// (test/fixtures/eso-crds), schema path by schema path: every property ESO has must exist
// in Vigil's CRD with the same type, enum, default and required-ness, and Vigil must not
// add a constraint ESO does not have (a manifest valid on ESO must apply on Vigil).
package esoschema

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Diff is one difference between ESO's schema and Vigil's at one path.
type Diff struct {
	Path string // "<group>/<version> <Kind> <json path>"
	What string // what differs, e.g. "missing", "type", "enum"
	Text string // ESO's and Vigil's values
}

func (d Diff) String() string { return d.Path + ": " + d.What + ": " + d.Text }

// LoadCRDs reads every CRD of the files matching glob (gzipped when the name ends in .gz),
// keyed by group/kind.
func LoadCRDs(glob string) (map[string]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no CRDs match %s (%v)", glob, err)
	}
	out := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, f := range files {
		data, err := readMaybeGzip(f)
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := dec.Decode(&crd); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if crd.Kind == "CustomResourceDefinition" {
				out[crd.Spec.Group+"/"+crd.Spec.Names.Kind] = &crd
			}
		}
	}
	return out, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !strings.HasSuffix(path, ".gz") {
		return io.ReadAll(f)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// CompareCRD reports the differences of one kind: the served versions, scope and names,
// then each served version's schema.
func CompareCRD(eso, vigil *apiextensionsv1.CustomResourceDefinition) []Diff {
	id := eso.Spec.Group + " " + eso.Spec.Names.Kind
	if vigil == nil {
		return []Diff{{Path: id, What: "kind not served", Text: "ESO serves it, Vigil has no CRD"}}
	}
	var out []Diff
	if eso.Spec.Scope != vigil.Spec.Scope {
		out = append(out, Diff{id, "scope", fmt.Sprintf("ESO %s, Vigil %s", eso.Spec.Scope, vigil.Spec.Scope)})
	}
	out = append(out, compareNames(id, eso.Spec.Names, vigil.Spec.Names)...)
	for _, ev := range eso.Spec.Versions {
		if !ev.Served {
			continue
		}
		vv := version(vigil, ev.Name)
		path := eso.Spec.Group + "/" + ev.Name + " " + eso.Spec.Names.Kind
		if vv == nil || !vv.Served {
			out = append(out, Diff{path, "version not served", "ESO serves it, Vigil does not"})
			continue
		}
		if (ev.Subresources != nil && ev.Subresources.Status != nil) !=
			(vv.Subresources != nil && vv.Subresources.Status != nil) {
			out = append(out, Diff{path, "status subresource", "ESO and Vigil differ"})
		}
		out = append(out, compareColumns(path, ev.AdditionalPrinterColumns, vv.AdditionalPrinterColumns)...)
		w := walker{prefix: path}
		w.compare("", ev.Schema.OpenAPIV3Schema, vv.Schema.OpenAPIV3Schema)
		out = append(out, w.diffs...)
	}
	return out
}

func version(
	crd *apiextensionsv1.CustomResourceDefinition, name string,
) *apiextensionsv1.CustomResourceDefinitionVersion {
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Name == name {
			return &crd.Spec.Versions[i]
		}
	}
	return nil
}

// compareNames wants ESO's short names and categories on Vigil's CRD too (kubectl get es).
func compareNames(id string, eso, vigil apiextensionsv1.CustomResourceDefinitionNames) []Diff {
	var out []Diff
	if eso.Plural != vigil.Plural {
		out = append(out, Diff{id, "plural", fmt.Sprintf("ESO %s, Vigil %s", eso.Plural, vigil.Plural)})
	}
	for _, s := range eso.ShortNames {
		if !slices.Contains(vigil.ShortNames, s) {
			out = append(out, Diff{id, "short name missing", s})
		}
	}
	for _, c := range eso.Categories {
		if !slices.Contains(vigil.Categories, c) {
			out = append(out, Diff{id, "category missing", c})
		}
	}
	return out
}

// compareColumns wants each of ESO's printer columns (kubectl get) on Vigil's CRD too, with
// the same JSON path.
func compareColumns(path string, eso, vigil []apiextensionsv1.CustomResourceColumnDefinition) []Diff {
	var out []Diff
	for _, e := range eso {
		i := slices.IndexFunc(vigil, func(v apiextensionsv1.CustomResourceColumnDefinition) bool {
			return strings.EqualFold(v.Name, e.Name) // kubectl prints headers in upper case
		})
		switch {
		case i < 0:
			out = append(out, Diff{path, "printer column missing", e.Name + " " + e.JSONPath})
		case vigil[i].JSONPath != e.JSONPath:
			out = append(out, Diff{path, "printer column", fmt.Sprintf("%s: ESO %s, Vigil %s", e.Name, e.JSONPath,
				vigil[i].JSONPath)})
		}
	}
	return out
}

type walker struct {
	prefix string
	diffs  []Diff
}

func (w *walker) add(path, what, format string, args ...any) {
	w.diffs = append(w.diffs, Diff{Path: w.prefix + " " + path, What: what, Text: fmt.Sprintf(format, args...)})
}

// compare checks Vigil's schema v against ESO's e at path, then their children.
func (w *walker) compare(path string, e, v *apiextensionsv1.JSONSchemaProps) {
	if e == nil {
		return
	}
	if v == nil {
		w.add(path, "missing", "ESO has it, Vigil does not")
		return
	}
	if v.XPreserveUnknownFields != nil && *v.XPreserveUnknownFields && len(v.Properties) == 0 &&
		len(e.Properties) > 0 {
		w.add(path, "free-form", "ESO has %d typed properties, Vigil accepts any object", len(e.Properties))
		return
	}
	w.compareScalars(path, e, v)
	w.compareConstraints(path, e, v)
	w.compareProperties(path, e, v)
	if e.Items != nil && e.Items.Schema != nil {
		var vi *apiextensionsv1.JSONSchemaProps
		if v.Items != nil {
			vi = v.Items.Schema
		}
		w.compare(path+"[]", e.Items.Schema, vi)
	}
	if e.AdditionalProperties != nil && e.AdditionalProperties.Schema != nil {
		var va *apiextensionsv1.JSONSchemaProps
		if v.AdditionalProperties != nil {
			va = v.AdditionalProperties.Schema
		}
		w.compare(path+"{}", e.AdditionalProperties.Schema, va)
	}
}

func (w *walker) compareScalars(path string, e, v *apiextensionsv1.JSONSchemaProps) {
	if e.Type != v.Type {
		w.add(path, "type", "ESO %q, Vigil %q", e.Type, v.Type)
	}
	if e.XIntOrString != v.XIntOrString {
		w.add(path, "int-or-string", "ESO %v, Vigil %v", e.XIntOrString, v.XIntOrString)
	}
	if ee, ve := jsonSet(e.Enum), jsonSet(v.Enum); !reflect.DeepEqual(ee, ve) {
		w.add(path, "enum", "ESO %v, Vigil %v", ee, ve)
	}
	if ed, vd := raw(e.Default), raw(v.Default); ed != vd {
		w.add(path, "default", "ESO %s, Vigil %s", ed, vd)
	}
	er, vr := sorted(e.Required), sorted(v.Required)
	if !slices.Equal(er, vr) {
		w.add(path, "required", "ESO %v, Vigil %v", er, vr)
	}
	if e.Nullable != v.Nullable {
		w.add(path, "nullable", "ESO %v, Vigil %v", e.Nullable, v.Nullable)
	}
	if preserve(e) != preserve(v) {
		w.add(path, "preserve-unknown-fields", "ESO %v, Vigil %v", preserve(e), preserve(v))
	}
}

// compareConstraints reports each validation that differs: Vigil stricter refuses manifests
// that ESO accepts; Vigil looser accepts manifests that ESO refuses.
func (w *walker) compareConstraints(path string, e, v *apiextensionsv1.JSONSchemaProps) {
	pairs := []struct {
		name string
		e, v any
	}{
		{"format", e.Format, v.Format},
		{"pattern", e.Pattern, v.Pattern},
		{"maxLength", e.MaxLength, v.MaxLength},
		{"minLength", e.MinLength, v.MinLength},
		{"maximum", e.Maximum, v.Maximum},
		{"minimum", e.Minimum, v.Minimum},
		{"exclusiveMaximum", e.ExclusiveMaximum, v.ExclusiveMaximum},
		{"exclusiveMinimum", e.ExclusiveMinimum, v.ExclusiveMinimum},
		{"maxItems", e.MaxItems, v.MaxItems},
		{"minItems", e.MinItems, v.MinItems},
		{"uniqueItems", e.UniqueItems, v.UniqueItems},
		{"maxProperties", e.MaxProperties, v.MaxProperties},
		{"minProperties", e.MinProperties, v.MinProperties},
		{"x-kubernetes-list-type", e.XListType, v.XListType},
		{"x-kubernetes-list-map-keys", e.XListMapKeys, v.XListMapKeys},
		{"x-kubernetes-map-type", e.XMapType, v.XMapType},
		{"x-kubernetes-embedded-resource", e.XEmbeddedResource, v.XEmbeddedResource},
		{"oneOf", len(e.OneOf), len(v.OneOf)},
		{"anyOf", len(e.AnyOf), len(v.AnyOf)},
		{"allOf", len(e.AllOf), len(v.AllOf)},
		{"not", e.Not != nil, v.Not != nil},
	}
	for _, p := range pairs {
		if !reflect.DeepEqual(deref(p.e), deref(p.v)) {
			w.add(path, p.name, "ESO %v, Vigil %v", deref(p.e), deref(p.v))
		}
	}
	er, vr := rules(e.XValidations), rules(v.XValidations)
	if !slices.Equal(er, vr) {
		w.add(path, "x-kubernetes-validations", "ESO %q, Vigil %q", er, vr)
	}
}

func (w *walker) compareProperties(path string, e, v *apiextensionsv1.JSONSchemaProps) {
	names := make([]string, 0, len(e.Properties))
	for n := range e.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		es := e.Properties[n]
		var vs *apiextensionsv1.JSONSchemaProps
		if p, ok := v.Properties[n]; ok {
			vs = &p
		}
		w.compare(join(path, n), &es, vs)
	}
	for n := range v.Properties {
		if _, ok := e.Properties[n]; !ok && !preserve(e) {
			w.add(join(path, n), "extra", "Vigil has it, ESO does not (strict validation refuses it on ESO)")
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func preserve(s *apiextensionsv1.JSONSchemaProps) bool {
	return s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
}

func jsonSet(vals []apiextensionsv1.JSON) []string {
	if len(vals) == 0 {
		return nil
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		out = append(out, string(v.Raw))
	}
	sort.Strings(out)
	return out
}

func raw(j *apiextensionsv1.JSON) string {
	if j == nil {
		return "none"
	}
	return string(j.Raw)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func rules(vs apiextensionsv1.ValidationRules) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Rule)
	}
	sort.Strings(out)
	return out
}

// deref turns nil and non-nil pointers into comparable values.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return rv.Elem().Interface()
	}
	if rv.Kind() == reflect.Slice && rv.Len() == 0 {
		return nil
	}
	return v
}
