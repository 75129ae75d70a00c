package externalsecret

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/internal/safetpl"
)

// rendered is what a template makes of the fetched data.
type rendered struct {
	data        map[string][]byte
	labels      map[string]string
	annotations map[string]string
	// fetched is the data before the template, kept to redact error messages.
	fetched map[string][]byte
}

// secrets are the values no message may show: the fetched and the rendered ones.
func (o *rendered) secrets() map[string]string {
	out := make(map[string]string, len(o.fetched)+len(o.data)+len(o.labels)+len(o.annotations))
	for k, v := range o.fetched {
		out["f/"+k] = string(v)
	}
	for k, v := range o.data {
		out["d/"+k] = string(v)
	}
	for k, v := range o.labels {
		out["l/"+k] = v
	}
	for k, v := range o.annotations {
		out["a/"+k] = v
	}
	return out
}

// renderTemplate applies spec.target.template to the fetched data: template.data and
// templateFrom render into Secret keys (or labels and annotations); mergePolicy Replace keeps
// only the rendered keys, Merge adds them to the fetched ones. All templates of the
// ExternalSecret share one budget (deadline, output, steps). Errors name the template's
// place in the spec and the reason, never a value.
func (r *Reconciler) renderTemplate(
	ctx context.Context, es *esv1.ExternalSecret, fetched map[string][]byte,
) (*rendered, error) {
	t := es.Spec.Target.Template
	out := &rendered{data: fetched, fetched: fetched, labels: map[string]string{}, annotations: map[string]string{}}
	if t == nil {
		return out, nil
	}
	maps.Copy(out.labels, t.Metadata.Labels)
	maps.Copy(out.annotations, t.Metadata.Annotations)
	if len(t.Data) == 0 && len(t.TemplateFrom) == 0 {
		return out, nil
	}
	engine := r.templates()
	rd := &renderer{
		engine: engine, budget: engine.Budget(ctx), values: make(map[string]string, len(fetched)),
		out: out, data: map[string][]byte{},
	}
	for k, v := range fetched {
		rd.values[k] = string(v)
	}
	if t.MergePolicy == esv1.MergePolicyMerge {
		maps.Copy(rd.data, fetched)
	}
	for i, from := range t.TemplateFrom {
		if err := r.renderFrom(ctx, rd, es.Namespace, i, from); err != nil {
			return nil, templateFailed(es, err, rd.values)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(t.Data)) {
		where := fmt.Sprintf("spec.target.template.data[%q]", key)
		if err := rd.render(where, t.Data[key], true, rd.into(esv1.TemplateTargetData, key)); err != nil {
			return nil, templateFailed(es, err, rd.values)
		}
	}
	out.data = rd.data
	return out, nil
}

// templateFailed turns a render error into the outcome of the pass: a template that broke a
// limit will break it again, so it is looked at again at the next refresh (5 minutes when
// there is none) rather than retried at once; other failures are retried with backoff.
func templateFailed(es *esv1.ExternalSecret, err error, values map[string]string) error {
	safe := errors.New(redact(err.Error(), values))
	var te *safetpl.Error
	if errors.As(err, &te) && te.Limit {
		wait := refreshInterval(es)
		if wait == 0 {
			wait = 5 * time.Minute
		}
		return outcome.Waiting(esv1.ReasonSecretSyncedError, safe, wait)
	}
	return outcome.Transient(esv1.ReasonSecretSyncedError, safe)
}

// renderer renders the templates of one ExternalSecret.
type renderer struct {
	engine *safetpl.Engine
	budget *safetpl.Budget
	values map[string]string
	out    *rendered
	data   map[string][]byte
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
		return func(v string) { rd.out.annotations[key] = v }
	case esv1.TemplateTargetLabels:
		return func(v string) { rd.out.labels[key] = v }
	}
	return func(v string) { rd.data[key] = []byte(v) }
}

// renderFrom renders one templateFrom entry: a literal, or the items of a ConfigMap or
// Secret.
func (r *Reconciler) renderFrom(
	ctx context.Context, rd *renderer, namespace string, i int, from esv1.TemplateFrom,
) error {
	where := fmt.Sprintf("spec.target.template.templateFrom[%d]", i)
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
	src, err := r.templateSource(ctx, namespace, from)
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

// templateSource reads the ConfigMap or Secret a templateFrom entry names (uncached: they are
// neither watched nor managed).
func (r *Reconciler) templateSource(
	ctx context.Context, namespace string, from esv1.TemplateFrom,
) (map[string]string, error) {
	key := types.NamespacedName{Namespace: namespace}
	switch {
	case from.ConfigMap != nil:
		key.Name = from.ConfigMap.Name
		var cm corev1.ConfigMap
		if err := r.APIReader.Get(ctx, key, &cm); err != nil {
			return nil, fmt.Errorf("reading ConfigMap %s: %w", key.Name, err)
		}
		return cm.Data, nil
	case from.Secret != nil:
		key.Name = from.Secret.Name
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, key, &s); err != nil {
			return nil, fmt.Errorf("reading Secret %s: %w", key.Name, err)
		}
		out := map[string]string{}
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("sets none of configMap, secret, literal")
}
