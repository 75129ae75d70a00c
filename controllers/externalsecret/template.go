package externalsecret

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// Template targets of templateFrom.
const (
	targetData        = "Data"
	targetAnnotations = "Annotations"
	targetLabels      = "Labels"
)

// funcs are the template functions of ESO's engine v2: sprig's text functions (without
// env and expandenv, which would read the controller's environment) and the PEM and PKCS#12 helpers ESO
// users rely on.
func funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	f["filterPEM"] = filterPEM
	f["toYaml"], f["fromYaml"] = toYaml, fromYaml
	f["pkcs12key"], f["pkcs12keyPass"] = pkcs12key, pkcs12keyPass
	f["pkcs12cert"], f["pkcs12certPass"] = pkcs12cert, pkcs12certPass
	f["pemToPkcs12"], f["pemToPkcs12Pass"] = pemToPkcs12, pemToPkcs12Pass
	f["fullPemToPkcs12"], f["fullPemToPkcs12Pass"] = fullPemToPkcs12, fullPemToPkcs12Pass
	return f
}

// toYaml renders a value as YAML, e.g. a config file from fetched keys.
func toYaml(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toYaml: %w", err)
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// fromYaml parses a YAML document into a map (errors do not quote the input).
func fromYaml(s string) (map[string]any, error) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		return nil, errors.New("fromYaml: the input is not a YAML mapping")
	}
	return m, nil
}

// filterPEM keeps the PEM blocks of one type, e.g. {{ .bundle | filterPEM "CERTIFICATE" }}.
func filterPEM(blockType, input string) (string, error) {
	var out bytes.Buffer
	rest := []byte(input)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == blockType {
			if err := pem.Encode(&out, block); err != nil {
				return "", err
			}
		}
	}
	if out.Len() == 0 {
		return "", fmt.Errorf("no %s block in the input", blockType)
	}
	return out.String(), nil
}

// rendered is what a template makes of the fetched data.
type rendered struct {
	data        map[string][]byte
	labels      map[string]string
	annotations map[string]string
}

// renderTemplate applies spec.target.template to the fetched data: template.data and
// templateFrom render into Secret keys (or labels and annotations); mergePolicy Replace keeps
// only the rendered keys, Merge adds them to the fetched ones. Errors name the template key
// and the template engine's reason, never a value.
func (r *Reconciler) renderTemplate(ctx context.Context, es *esv1.ExternalSecret, fetched map[string][]byte) (*rendered, error) {
	t := es.Spec.Target.Template
	out := &rendered{data: fetched, labels: map[string]string{}, annotations: map[string]string{}}
	if t == nil {
		return out, nil
	}
	maps.Copy(out.labels, t.Metadata.Labels)
	maps.Copy(out.annotations, t.Metadata.Annotations)
	if len(t.Data) == 0 && len(t.TemplateFrom) == 0 {
		return out, nil
	}
	values := make(map[string]string, len(fetched))
	for k, v := range fetched {
		values[k] = string(v)
	}
	data := map[string][]byte{}
	if t.MergePolicy == "Merge" {
		maps.Copy(data, fetched)
	}
	render := func(where, key, text string, into func(string, string)) error {
		tpl, err := template.New(key).Option("missingkey=error").Funcs(funcs()).Parse(text)
		if err != nil {
			return fmt.Errorf("%s: template %q does not parse: %w", where, key, err)
		}
		var buf bytes.Buffer
		if err := tpl.Execute(&buf, values); err != nil {
			// Template functions quote their arguments in errors (fail, regexFind, …): the
			// message goes into the Ready condition, so every fetched value is cut out.
			return fmt.Errorf("%s: template %q failed: %s", where, key, redact(err.Error(), values))
		}
		into(key, buf.String())
		return nil
	}
	intoTarget := func(target string) func(string, string) {
		switch target {
		case targetAnnotations:
			return func(k, v string) { out.annotations[k] = v }
		case targetLabels:
			return func(k, v string) { out.labels[k] = v }
		}
		return func(k, v string) { data[k] = []byte(v) }
	}
	for i, from := range t.TemplateFrom {
		where := fmt.Sprintf("spec.target.template.templateFrom[%d]", i)
		target := from.Target
		if target == "" {
			target = targetData
		}
		if from.Literal != nil {
			// A literal renders to YAML-ish "key: value" lines, as in ESO.
			var buf strings.Builder
			if err := render(where, "literal", *from.Literal, func(_, v string) { buf.WriteString(v) }); err != nil {
				return nil, err
			}
			for _, line := range strings.Split(buf.String(), "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) != "" {
					intoTarget(target)(strings.TrimSpace(k), strings.TrimSpace(v))
				}
			}
			continue
		}
		src, err := r.templateSource(ctx, es.Namespace, from)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		ref := from.ConfigMap
		if ref == nil {
			ref = from.Secret
		}
		for _, item := range ref.Items {
			text, ok := src[item.Key]
			if !ok {
				return nil, fmt.Errorf("%s: %s has no key %q", where, ref.Name, item.Key)
			}
			if item.TemplateAs == "KeysAndValues" {
				// The item holds "key: template" lines; both sides are rendered.
				for _, line := range strings.Split(text, "\n") {
					k, v, ok := strings.Cut(line, ":")
					if !ok || strings.TrimSpace(k) == "" {
						continue
					}
					var key string
					if err := render(where, item.Key, strings.TrimSpace(k), func(_, s string) { key = s }); err != nil {
						return nil, err
					}
					if err := render(where, key, strings.TrimSpace(v), intoTarget(target)); err != nil {
						return nil, err
					}
				}
				continue
			}
			if err := render(where, item.Key, text, intoTarget(target)); err != nil {
				return nil, err
			}
		}
	}
	for key, text := range t.Data {
		if err := render("spec.target.template.data", key, text, intoTarget(targetData)); err != nil {
			return nil, err
		}
	}
	out.data = data
	return out, nil
}

// templateSource reads the ConfigMap or Secret a templateFrom entry names (uncached: they are
// neither watched nor managed).
func (r *Reconciler) templateSource(ctx context.Context, namespace string, from esv1.TemplateFrom) (map[string]string, error) {
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

// redact replaces every fetched value of four or more characters in msg, raw and in the
// quoted and JSON-escaped forms errors print, with "[redacted]". Shorter values would cut
// ordinary words out of the message and are not worth guarding.
func redact(msg string, values map[string]string) string {
	var forms []string
	for _, v := range values {
		if len(v) < 4 {
			continue
		}
		forms = append(forms, v, strings.Trim(strconv.Quote(v), `"`))
		if j, err := json.Marshal(v); err == nil {
			forms = append(forms, strings.Trim(string(j), `"`))
		}
	}
	// The replacer tries its patterns in order: longer first, so that a value containing
	// another is cut whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, "[redacted]")
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}
