package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// readObjects reads the ExternalSecret to render (v1beta1 reads as v1: the same schema) and
// the ConfigMaps and Secrets beside it; a namespace left out is "default", as kubectl would
// create it. Other kinds are ignored.
func (o *templateOptions) readObjects(stdin io.Reader) (*esv1.ExternalSecret, []client.Object, error) {
	docs, err := (&reader{stdin: stdin}).read(o.files)
	if err != nil {
		return nil, nil, err
	}
	var found []*esv1.ExternalSecret
	var objects []client.Object
	for _, d := range docs {
		u := d.obj.DeepCopy()
		if u.GetNamespace() == "" {
			u.SetNamespace("default")
		}
		var obj client.Object
		switch gvk := u.GroupVersionKind(); {
		case gvk.Group == esv1.GroupVersion.Group && gvk.Kind == "ExternalSecret":
			if err := applyCRDDefaults(u); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", d.where(), err)
			}
			es := &esv1.ExternalSecret{}
			found, obj = append(found, es), es
			u.SetAPIVersion(esv1.GroupVersion.String())
		case gvk.Group == "" && gvk.Kind == "ConfigMap":
			obj = &corev1.ConfigMap{}
			objects = append(objects, obj)
		case gvk.Group == "" && gvk.Kind == "Secret":
			obj = &corev1.Secret{}
			objects = append(objects, obj)
		default:
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
			return nil, nil, fmt.Errorf("%s: %s %s: %w", d.where(), u.GetKind(), u.GetName(), err)
		}
		if s, ok := obj.(*corev1.Secret); ok {
			foldStringData(s)
		}
	}
	es, err := o.pick(found)
	return es, objects, err
}

// pick chooses the ExternalSecret to render: the only one, or the one --name names.
func (o *templateOptions) pick(found []*esv1.ExternalSecret) (*esv1.ExternalSecret, error) {
	var names []string
	for _, es := range found {
		if o.name == "" && len(found) == 1 || es.Name == o.name {
			return es, nil
		}
		names = append(names, es.Name)
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("no ExternalSecret (external-secrets.io/v1 or v1beta1) in %s", strings.Join(o.files, ", "))
	case o.name != "":
		return nil, fmt.Errorf("no ExternalSecret named %q; the files hold %s", o.name, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("%d ExternalSecrets (%s): pass --name to choose one", len(found), strings.Join(names, ", "))
}

// readValues reads the map of fetched keys and values (JSON or YAML). A value that is not a
// string is passed as its JSON, as a provider returns a JSON secret; no value is ever quoted
// in an error.
func readValues(file string, stdin io.Reader) (map[string][]byte, error) {
	if file == "" {
		return map[string][]byte{}, nil
	}
	var raw []byte
	var err error
	if file == "-" {
		raw, err = io.ReadAll(stdin)
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("--values: %w", err)
	}
	var m map[string]json.RawMessage
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("--values %s is not a JSON or YAML map of keys to values", file)
	}
	data := make(map[string][]byte, len(m))
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) == nil {
			data[k] = []byte(s)
			continue
		}
		data[k] = []byte(v)
	}
	return data, nil
}
