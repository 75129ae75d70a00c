package pushsecret

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/policycheck"
	"github.com/vigil-dev/vigil/controllers/internal/render"
	"github.com/vigil-dev/vigil/internal/safetpl"
	"github.com/vigil-dev/vigil/providers"
)

// Limits bound what one PushSecret may cost (THREATS.md: bounded cost). Each refusal names
// the limit and how to stay under it.
type Limits struct {
	// MaxEntries is the most spec.data entries of one PushSecret (each is one or more
	// backend calls per store and pass).
	MaxEntries int
	// MaxStores is the most stores one PushSecret may push to.
	MaxStores int
	// MaxValueBytes is the largest value pushed (after the template; the whole Secret as a
	// JSON object counts as one value).
	MaxValueBytes int
}

// DefaultLimits: 100 entries, 10 stores, 512 KiB a value (more than any backend Vigil
// pushes to stores in one secret: Secrets Manager 64 KiB, a Kubernetes Secret 1 MiB in all).
var DefaultLimits = Limits{MaxEntries: 100, MaxStores: 10, MaxValueBytes: 512 << 10}

func (r *Reconciler) limits() Limits {
	l := r.Limits
	if l.MaxEntries == 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	if l.MaxStores == 0 {
		l.MaxStores = DefaultLimits.MaxStores
	}
	if l.MaxValueBytes == 0 {
		l.MaxValueBytes = DefaultLimits.MaxValueBytes
	}
	return l
}

// checkSpec refuses what Vigil does not push (yet) and what is over a limit, before any
// read or backend call. These are terminal: the PushSecret's next change brings it back.
func (r *Reconciler) checkSpec(ps *esv1alpha1.PushSecret) error {
	refuse := func(format string, args ...any) error {
		return outcome.Terminal(esv1alpha1.ReasonErrored, fmt.Errorf(format, args...))
	}
	sel := ps.Spec.Selector
	switch {
	case len(ps.Spec.DataTo) > 0:
		return refuse("spec.dataTo is not supported by this version of Vigil; list the keys to push in spec.data")
	case sel.Secret != nil && sel.Secret.Name == "":
		return refuse("spec.selector.secret.selector (a label selector over Secrets) is not supported by this " +
			"version of Vigil; name one Secret in spec.selector.secret.name")
	case sel.Secret == nil && sel.GeneratorRef == nil:
		return refuse("spec.selector names neither a Secret nor a generatorRef")
	case len(ps.Spec.Data) == 0:
		return refuse("spec.data is empty: name at least one entry to push (match.remoteRef.remoteKey)")
	case len(ps.Spec.Data) > r.limits().MaxEntries:
		return refuse("spec.data has %d entries, more than the %d one PushSecret may push; split it into several "+
			"PushSecrets", len(ps.Spec.Data), r.limits().MaxEntries)
	}
	for i, d := range ps.Spec.Data {
		if d.Match.RemoteRef.RemoteKey == "" {
			return refuse("spec.data[%d].match.remoteRef.remoteKey is empty: name the remote secret to write", i)
		}
	}
	return nil
}

// source is what a pass pushes: the source's keys after the template.
type source struct {
	data map[string][]byte
	// meta is the source Secret's type, labels and annotations (after the template), which
	// a Kubernetes store's remote Secret takes, as ESO's does.
	meta secretMeta
	// secrets are every value read or rendered, which no message may show (redact).
	secrets map[string]string
}

// redact cuts the source's values out of an error's message, keeping its kind and reason:
// messages are built from field names and reasons, this is the safety net.
func (s *source) redact(err error) error {
	return outcome.MapMessage(err, func(msg string) string { return render.Redact(msg, s.secrets) })
}

// source reads the Secret (of the PushSecret's own namespace, never another) or runs the
// generator spec.selector names, then applies spec.template.
func (r *Reconciler) source(ctx context.Context, ps *esv1alpha1.PushSecret) (*source, error) {
	data, meta, err := r.read(ctx, ps)
	if err != nil {
		return nil, err
	}
	src := &source{data: data, meta: meta, secrets: map[string]string{}}
	for k, v := range data {
		src.secrets["s/"+k] = string(v)
	}
	if ps.Spec.Template == nil {
		return src, nil
	}
	// As ESO: the template's keys are added to the source's (mergePolicy does not drop
	// them: a PushSecret pushes by key, and data[] names the keys it wants).
	out, err := render.Render(ctx, r.Templates, render.Input{
		Field: "spec.template", Template: ps.Spec.Template, Data: data, Namespace: ps.Namespace, Reader: r.APIReader,
	})
	if err != nil {
		return nil, templateFailed(ps, src.redact(err), err)
	}
	merged := maps.Clone(data)
	maps.Copy(merged, out.Data)
	src.data = merged
	// As ESO's setMetadata: the template's type replaces the Secret's, its labels and
	// annotations are added to the Secret's.
	src.meta.Type = string(ps.Spec.Template.Type)
	src.meta.Labels = withMeta(src.meta.Labels, out.Labels)
	src.meta.Annotations = withMeta(src.meta.Annotations, out.Annotations)
	for k, v := range out.Data {
		src.secrets["t/"+k] = string(v)
	}
	return src, nil
}

// read returns the keys of the source, and the source Secret's type and metadata.
func (r *Reconciler) read(ctx context.Context, ps *esv1alpha1.PushSecret) (map[string][]byte, secretMeta, error) {
	if g := ps.Spec.Selector.GeneratorRef; g != nil {
		if err := policycheck.Generator(ctx, r.Gate, r.APIReader, g, ps.Namespace); err != nil {
			return nil, secretMeta{}, err
		}
		data, err := r.Providers.Generate(ctx, g.APIVersion, g.Kind, g.Name, ps.Namespace)
		if err != nil {
			wrapped := fmt.Errorf("spec.selector.generatorRef %s %q: %w", g.Kind, g.Name, err)
			var cfg *providers.ConfigError
			if errors.As(err, &cfg) {
				return nil, secretMeta{}, outcome.Terminal(esv1alpha1.ReasonErrored, wrapped)
			}
			return nil, secretMeta{}, outcome.Transient(esv1alpha1.ReasonErrored, wrapped)
		}
		return data, secretMeta{}, nil
	}
	name := ps.Spec.Selector.Secret.Name
	var s corev1.Secret
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ps.Namespace, Name: name}, &s)
	switch {
	case apierrors.IsNotFound(err):
		// Looked at again at the next refresh, or when the PushSecret changes: Secrets are
		// not watched (ESO neither).
		return nil, secretMeta{}, outcome.Waiting(esv1alpha1.ReasonErrored,
			fmt.Errorf("spec.selector.secret.name: Secret %q does not exist in namespace %q", name, ps.Namespace),
			retryMissing(ps))
	case err != nil:
		return nil, secretMeta{}, outcome.Transient(esv1alpha1.ReasonErrored,
			fmt.Errorf("reading Secret %q: %w", name, err))
	}
	meta := secretMeta{Type: string(s.Type), Labels: withMeta(nil, s.Labels), Annotations: withMeta(nil, s.Annotations)}
	return s.Data, meta, nil
}

// secretMeta is a source Secret's type, labels and annotations.
type secretMeta struct {
	Type                string
	Labels, Annotations map[string]string
}

// withMeta returns base with add's labels or annotations added, leaving out those that may
// not travel to a remote Secret: kubectl's last-applied-configuration (it can hold the
// Secret's stringData, and Vigil writes no value into an annotation), ESO's and Vigil's
// marks of a managed Secret (the remote Secret is not another ExternalSecret's target), and
// the managed-by mark (ownership is the Pusher's to give, never the source's).
func withMeta(base, add map[string]string) map[string]string {
	out := maps.Clone(base)
	for k, v := range add {
		if notCopied(k) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

func notCopied(key string) bool {
	return key == corev1.LastAppliedConfigAnnotation || key == providers.ManagedByKey ||
		strings.HasPrefix(key, "reconcile.external-secrets.io/") || strings.HasPrefix(key, "vigil.dev/")
}

// retryMissing is how soon a PushSecret whose Secret is missing looks again.
func retryMissing(ps *esv1alpha1.PushSecret) time.Duration {
	if i := refreshInterval(ps); i > 0 && i < time.Minute {
		return i
	}
	return time.Minute
}

// templateFailed keeps a render error's kind: a broken limit will break again, so it waits
// for the next refresh; other failures are retried. safe is the redacted error.
func templateFailed(ps *esv1alpha1.PushSecret, safe, err error) error {
	var te *safetpl.Error
	if errors.As(err, &te) && te.Limit {
		wait := refreshInterval(ps)
		if wait == 0 {
			wait = 5 * time.Minute
		}
		return outcome.Waiting(esv1alpha1.ReasonErrored, safe, wait)
	}
	return outcome.Transient(esv1alpha1.ReasonErrored, safe)
}
