package externalsecret

import (
	"context"
	"errors"
	"time"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/controllers/internal/render"
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

// NewTemplateEngine returns the engine that runs ExternalSecret templates (the shared one of
// controllers/internal/render): ESO's functions within safetpl's limits, with the given
// deadline per ExternalSecret (0 keeps the default of 2 s).
func NewTemplateEngine(timeout time.Duration) *safetpl.Engine { return render.NewEngine(timeout) }

// renderTemplate applies spec.target.template to the fetched data (render.Render: the
// engine PushSecrets use too). Errors name the template's place in the spec and the reason,
// never a value.
func (r *Reconciler) renderTemplate(
	ctx context.Context, es *esv1.ExternalSecret, fetched map[string][]byte,
) (*rendered, error) {
	out, err := render.Render(ctx, r.Templates, render.Input{
		Field: "spec.target.template", Template: es.Spec.Target.Template, Data: fetched,
		Namespace: es.Namespace, Reader: r.APIReader,
	})
	if err != nil {
		return nil, templateFailed(es, err, render.Values(fetched))
	}
	return &rendered{data: out.Data, labels: out.Labels, annotations: out.Annotations, fetched: fetched}, nil
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

// redact cuts every value out of msg (render.Redact).
func redact(msg string, values map[string]string) string { return render.Redact(msg, values) }
