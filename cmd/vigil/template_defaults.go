package main

import (
	"encoding/json"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/vigil-dev/vigil/config/crd"
)

// applyCRDDefaults fills in the defaults of the ExternalSecret CRD's schema for the object's
// version (creationPolicy Owner, deletionPolicy Retain, refreshInterval 1h, …), as the API
// server does on create: the controller only ever sees defaulted objects. The API server's
// own defaulting package drags in the whole apiserver (CEL, feature gates, metrics), so the
// same walk is done here over the schema: a missing property with a default gets it, then
// properties, list items and map values are walked in turn.
func applyCRDDefaults(u *unstructured.Unstructured) error {
	var def apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(crd.ExternalSecrets, &def); err != nil {
		return fmt.Errorf("the embedded ExternalSecret CRD: %w", err)
	}
	version := u.GroupVersionKind().Version
	for _, v := range def.Spec.Versions {
		if v.Name == version && v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			return defaults(u.Object, v.Schema.OpenAPIV3Schema)
		}
	}
	return fmt.Errorf("apiVersion %s: the ExternalSecret CRD serves no version %q (v1 and v1beta1 are served)",
		u.GetAPIVersion(), version)
}

// defaults applies the defaults of schema s to the value v (a map or list of the object).
func defaults(v any, s *apiextensionsv1.JSONSchemaProps) error {
	switch t := v.(type) {
	case map[string]any:
		for name, prop := range s.Properties {
			if _, set := t[name]; !set && prop.Default != nil {
				var d any
				if err := json.Unmarshal(prop.Default.Raw, &d); err != nil {
					return fmt.Errorf("the default of %s: %w", name, err)
				}
				t[name] = d
			}
			if err := defaults(t[name], &prop); err != nil {
				return err
			}
		}
		if ap := s.AdditionalProperties; ap != nil && ap.Schema != nil {
			for _, e := range t {
				if err := defaults(e, ap.Schema); err != nil {
					return err
				}
			}
		}
	case []any:
		if s.Items != nil && s.Items.Schema != nil {
			for _, e := range t {
				if err := defaults(e, s.Items.Schema); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
