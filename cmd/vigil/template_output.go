package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// print writes the Secret as the API server would store it (without the in-memory
// cluster's resourceVersion); without --show-values its values are replaced by their size.
func (o *templateOptions) print(w io.Writer, es *esv1.ExternalSecret, s *corev1.Secret) error {
	s = s.DeepCopy()
	foldStringData(s)
	s.APIVersion, s.Kind = "v1", "Secret"
	s.ResourceVersion = ""
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(s)
	if err != nil {
		return err
	}
	if !o.showValues {
		hideValues(obj, es, s)
	}
	var out []byte
	if o.output == formatJSON {
		out, err = json.MarshalIndent(obj, "", "  ")
		out = append(out, '\n')
	} else {
		out, err = yaml.Marshal(obj)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// hideValues replaces every data value, and every label and annotation value that may come
// from the data, by a note of its size. Shown are the values the ExternalSecret spells out
// (template.metadata), its own name (the owner annotation) and the managed label.
func hideValues(obj map[string]any, es *esv1.ExternalSecret, s *corev1.Secret) {
	if len(s.Data) > 0 {
		data := map[string]any{}
		for k, v := range s.Data {
			data[k] = hidden(len(v))
		}
		obj["data"] = data
	}
	// print folds stringData into data; should any remain, its values are hidden too.
	if sd, ok := obj["stringData"].(map[string]any); ok {
		for k, v := range sd {
			str, _ := v.(string)
			sd[k] = hidden(len(str))
		}
	}
	var literal esv1.ExternalSecretTemplateMetadata
	if t := es.Spec.Target.Template; t != nil {
		literal = t.Metadata
	}
	meta := obj["metadata"].(map[string]any)
	hideMetadata(meta, "labels", s.Labels, literal.Labels, es.Name)
	hideMetadata(meta, "annotations", s.Annotations, literal.Annotations, es.Name)
}

func hideMetadata(meta map[string]any, field string, values, literal map[string]string, name string) {
	if len(values) == 0 {
		return
	}
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		v := values[k]
		lit, ok := literal[k]
		switch {
		case ok && lit == v, v == name, k == esv1.LabelManaged && v == esv1.LabelManagedValue:
			out[k] = v
		default:
			out[k] = hidden(len(v))
		}
	}
	meta[field] = out
}

func hidden(n int) string {
	return fmt.Sprintf("(hidden: %d bytes; --show-values prints it)", n)
}

// foldStringData moves stringData into data as the API server does on write (stringData
// wins over data for the same key): the Secret then holds its values in one place, which
// the output hides without --show-values.
func foldStringData(s *corev1.Secret) {
	if len(s.StringData) == 0 {
		s.StringData = nil
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}
