// Package render runs the templates of ExternalSecrets (spec.target.template) and
// PushSecrets (spec.template) with ESO's engine v2 functions, within safetpl's limits
// (deadline, output, steps). Both reconcilers use this one engine, so a template means the
// same in either place. Errors name the template's place in the spec and the reason, never a
// value; Redact is the safety net for messages that might still hold one.
package render

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/internal/safetpl"
)

// Output is what a template makes of the data.
type Output struct {
	Data        map[string][]byte
	Labels      map[string]string
	Annotations map[string]string
}

// Input is one object's template and what it renders from.
type Input struct {
	// Field is the template's place in the spec, for messages: "spec.target.template".
	Field    string
	Template *esv1.ExternalSecretTemplate
	// Data is what the templates see as .key: the fetched (or pushed) values.
	Data map[string][]byte
	// Namespace is the object's: templateFrom reads ConfigMaps and Secrets there only.
	Namespace string
	// Reader reads templateFrom's ConfigMaps and Secrets (uncached: they are neither
	// watched nor managed).
	Reader client.Reader
}

// Render applies a template to in.Data: template.data and templateFrom render into keys (or
// labels and annotations); mergePolicy Replace keeps only the rendered keys, Merge adds them
// to in.Data. All templates of the object share one budget (deadline, output, steps). A nil
// template, or one with no data and no templateFrom, keeps in.Data. A safetpl.Error with
// Limit set says a limit was broken.
func Render(ctx context.Context, engine *safetpl.Engine, in Input) (*Output, error) {
	t := in.Template
	out := &Output{Data: in.Data, Labels: map[string]string{}, Annotations: map[string]string{}}
	if t == nil {
		return out, nil
	}
	maps.Copy(out.Labels, t.Metadata.Labels)
	maps.Copy(out.Annotations, t.Metadata.Annotations)
	if len(t.Data) == 0 && len(t.TemplateFrom) == 0 {
		return out, nil
	}
	if engine == nil {
		engine = Default()
	}
	rd := &renderer{
		engine: engine, budget: engine.Budget(ctx), values: Values(in.Data), out: out, data: map[string][]byte{},
		reader: in.Reader, namespace: in.Namespace,
	}
	if t.MergePolicy == esv1.MergePolicyMerge {
		maps.Copy(rd.data, in.Data)
	}
	for i, from := range t.TemplateFrom {
		if err := rd.renderFrom(ctx, fmt.Sprintf("%s.templateFrom[%d]", in.Field, i), from); err != nil {
			return nil, err
		}
	}
	for _, key := range slices.Sorted(maps.Keys(t.Data)) {
		where := fmt.Sprintf("%s.data[%q]", in.Field, key)
		if err := rd.render(where, t.Data[key], true, rd.into(esv1.TemplateTargetData, key)); err != nil {
			return nil, err
		}
	}
	out.Data = rd.data
	return out, nil
}

// Values are data as strings, as templates see them and Redact takes them.
func Values(data map[string][]byte) map[string]string {
	out := make(map[string]string, len(data))
	for k, v := range data {
		out[k] = string(v)
	}
	return out
}

// renderer renders the templates of one object.
type renderer struct {
	engine    *safetpl.Engine
	budget    *safetpl.Budget
	values    map[string]string
	out       *Output
	data      map[string][]byte
	reader    client.Reader
	namespace string
}

// render runs one template and hands its output to into. public says whether the template
// text may be quoted in an error (not when it comes from a Secret).
func (rd *renderer) render(where, text string, public bool, into func(string)) error {
	s, err := rd.engine.Render(rd.budget, text, rd.values)
	if err != nil {
		var te *safetpl.Error
		if public && errors.As(err, &te) && te.Detail() != "" {
			return fmt.Errorf("%s: %s (%s)", where, err, te.Detail())
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	into(s)
	return nil
}

// into returns the setter of one key of target.
func (rd *renderer) into(target, key string) func(string) {
	switch target {
	case esv1.TemplateTargetAnnotations:
		return func(v string) { rd.out.Annotations[key] = v }
	case esv1.TemplateTargetLabels:
		return func(v string) { rd.out.Labels[key] = v }
	}
	return func(v string) { rd.data[key] = []byte(v) }
}

// renderFrom renders one templateFrom entry: a literal, or the items of a ConfigMap or
// Secret.
func (rd *renderer) renderFrom(ctx context.Context, where string, from esv1.TemplateFrom) error {
	target := from.Target
	if target == "" {
		target = esv1.TemplateTargetData
	}
	if from.Literal != nil {
		// A literal renders to YAML-ish "key: value" lines, as in ESO.
		var lines string
		if err := rd.render(where+".literal", *from.Literal, true, func(s string) { lines = s }); err != nil {
			return err
		}
		for _, line := range strings.Split(lines, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) != "" {
				rd.into(target, strings.TrimSpace(k))(strings.TrimSpace(v))
			}
		}
		return nil
	}
	src, err := rd.source(ctx, from)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	ref, public := from.ConfigMap, true
	if ref == nil {
		ref, public = from.Secret, false
	}
	for _, item := range ref.Items {
		text, ok := src[item.Key]
		if !ok {
			return fmt.Errorf("%s: %s has no key %q", where, ref.Name, item.Key)
		}
		at := fmt.Sprintf("%s (%s key %q)", where, ref.Name, item.Key)
		if item.TemplateAs == esv1.TemplateScopeKeysAndValues {
			if err := rd.renderKeysAndValues(at, text, public, target); err != nil {
				return err
			}
			continue
		}
		if err := rd.render(at, text, public, rd.into(target, item.Key)); err != nil {
			return err
		}
	}
	return nil
}

// renderKeysAndValues renders an item of "key: template" lines; both sides are templates.
// Errors name the line, not the rendered key (which may come from the data).
func (rd *renderer) renderKeysAndValues(at, text string, public bool, target string) error {
	for n, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" {
			continue
		}
		where := fmt.Sprintf("%s line %d", at, n+1)
		var key string
		if err := rd.render(where+" key", strings.TrimSpace(k), public, func(s string) { key = s }); err != nil {
			return err
		}
		if err := rd.render(where+" value", strings.TrimSpace(v), public, rd.into(target, key)); err != nil {
			return err
		}
	}
	return nil
}

// source reads the ConfigMap or Secret a templateFrom entry names, in the object's own
// namespace.
func (rd *renderer) source(ctx context.Context, from esv1.TemplateFrom) (map[string]string, error) {
	key := types.NamespacedName{Namespace: rd.namespace}
	switch {
	case rd.reader == nil:
		return nil, fmt.Errorf("templateFrom cannot be read here")
	case from.ConfigMap != nil:
		key.Name = from.ConfigMap.Name
		var cm corev1.ConfigMap
		if err := rd.reader.Get(ctx, key, &cm); err != nil {
			return nil, fmt.Errorf("reading ConfigMap %s: %w", key.Name, err)
		}
		return cm.Data, nil
	case from.Secret != nil:
		key.Name = from.Secret.Name
		var s corev1.Secret
		if err := rd.reader.Get(ctx, key, &s); err != nil {
			return nil, fmt.Errorf("reading Secret %s: %w", key.Name, err)
		}
		return Values(s.Data), nil
	}
	return nil, fmt.Errorf("sets none of configMap, secret, literal")
}
