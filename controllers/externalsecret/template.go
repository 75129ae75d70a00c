package externalsecret

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/internal/safetpl"
)

// Template targets of templateFrom.
const (
	targetData        = "Data"
	targetAnnotations = "Annotations"
	targetLabels      = "Labels"
)

// templateFuncs are the functions ESO's engine v2 adds to sprig's: the PEM and PKCS#12
// helpers and YAML. safetpl removes sprig's env, expandenv and getHostByName and bounds the
// rest.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"filterPEM": filterPEM, "toYaml": toYaml, "fromYaml": fromYaml,
		"pkcs12key": pkcs12key, "pkcs12keyPass": pkcs12keyPass,
		"pkcs12cert": pkcs12cert, "pkcs12certPass": pkcs12certPass,
		"pemToPkcs12": pemToPkcs12, "pemToPkcs12Pass": pemToPkcs12Pass,
		"fullPemToPkcs12": fullPemToPkcs12, "fullPemToPkcs12Pass": fullPemToPkcs12Pass,
	}
}

// NewTemplateEngine returns the engine that runs ExternalSecret templates: ESO's functions
// within safetpl's limits, with the given deadline per ExternalSecret (all its templates
// together; 0 keeps the default of 2 s).
func NewTemplateEngine(timeout time.Duration) *safetpl.Engine {
	l := safetpl.Defaults()
	if timeout > 0 {
		l.Timeout = timeout
	}
	return safetpl.New(l, templateFuncs())
}

// defaultEngine serves Reconcilers built without one (tests); its function map is built
// once, on first use.
var defaultEngine = sync.OnceValue(func() *safetpl.Engine { return NewTemplateEngine(0) })

func (r *Reconciler) templates() *safetpl.Engine {
	if r.Templates != nil {
		return r.Templates
	}
	return defaultEngine()
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
		return nil, safetpl.Reason("the input is not a YAML mapping")
	}
	return m, nil
}

// pemTypes are the PEM block types filterPEM names in its errors.
var pemTypes = []string{"CERTIFICATE", "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "PUBLIC KEY", "CERTIFICATE REQUEST", "ENCRYPTED PRIVATE KEY"}

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
		if !slices.Contains(pemTypes, blockType) {
			// The block type may come from the data: not quoted.
			return "", safetpl.Reason("no block of the requested type in the input")
		}
		return "", safetpl.Reason("no " + blockType + " block in the input")
	}
	return out.String(), nil
}

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
func (r *Reconciler) renderTemplate(ctx context.Context, es *esv1.ExternalSecret, fetched map[string][]byte) (*rendered, error) {
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
	rd := &renderer{engine: engine, budget: engine.Budget(ctx), values: make(map[string]string, len(fetched)), out: out, data: map[string][]byte{}}
	for k, v := range fetched {
		rd.values[k] = string(v)
	}
	if t.MergePolicy == "Merge" {
		maps.Copy(rd.data, fetched)
	}
	for i, from := range t.TemplateFrom {
		if err := r.renderFrom(ctx, rd, es.Namespace, i, from); err != nil {
			return nil, templateFailed(es, err, rd.values)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(t.Data)) {
		where := fmt.Sprintf("spec.target.template.data[%q]", key)
		if err := rd.render(where, t.Data[key], true, rd.into(targetData, key)); err != nil {
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
	case targetAnnotations:
		return func(v string) { rd.out.annotations[key] = v }
	case targetLabels:
		return func(v string) { rd.out.labels[key] = v }
	}
	return func(v string) { rd.data[key] = []byte(v) }
}

// renderFrom renders one templateFrom entry: a literal, or the items of a ConfigMap or
// Secret.
func (r *Reconciler) renderFrom(ctx context.Context, rd *renderer, namespace string, i int, from esv1.TemplateFrom) error {
	where := fmt.Sprintf("spec.target.template.templateFrom[%d]", i)
	target := from.Target
	if target == "" {
		target = targetData
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
		if item.TemplateAs == "KeysAndValues" {
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
		if err := rd.render(where+" value", strings.TrimSpace(v), public, func(s string) { rd.into(target, key)(s) }); err != nil {
			return err
		}
	}
	return nil
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

// redact cuts every fetched value of four or more bytes out of msg, in each common
// encoding (raw, upper and lower case, base64 standard and URL at any alignment, hex,
// Go-quoted, JSON-escaped, URL-escaped), matching without regard to ASCII case. Messages are
// built from field names and reasons and should hold no value; this is the safety net for
// a name that happens to equal one. Shorter values would cut ordinary words out of the
// message and are not worth guarding.
func redact(msg string, values map[string]string) string {
	lower := asciiLower(msg)
	cut := make([]bool, len(msg))
	for _, v := range values {
		if len(v) < 4 {
			continue
		}
		for _, form := range encodings(v) {
			form = asciiLower(form)
			if len(form) < 4 {
				continue
			}
			for from := 0; ; {
				i := strings.Index(lower[from:], form)
				if i < 0 {
					break
				}
				for j := from + i; j < from+i+len(form); j++ {
					cut[j] = true
				}
				from += i + 1
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		if !cut[i] {
			b.WriteByte(msg[i])
			continue
		}
		b.WriteString("[redacted]")
		for i+1 < len(msg) && cut[i+1] {
			i++
		}
	}
	return b.String()
}

// encodings are the forms in which a value may show up in an error message.
func encodings(v string) []string {
	forms := []string{v, strings.Trim(strconv.Quote(v), `"`), url.QueryEscape(v), url.PathEscape(v), hex.EncodeToString([]byte(v))}
	if j, err := json.Marshal(v); err == nil {
		forms = append(forms, strings.Trim(string(j), `"`))
	}
	// Base64 of a longer text that contains v encodes v differently at each of the three
	// alignments; the inner characters of each are the same whatever surrounds v.
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		forms = append(forms, strings.TrimRight(enc.EncodeToString([]byte(v)), "="))
		for k := 0; k < 3; k++ {
			e := enc.EncodeToString(append(make([]byte, k), v...))
			lo, hi := (4*k+2)/3+1, len(e)-4
			if hi-lo >= 4 {
				forms = append(forms, e[lo:hi])
			}
		}
	}
	return forms
}

// asciiLower lower-cases ASCII letters only, so that byte offsets stay the same.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
