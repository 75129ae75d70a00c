package externalsecret

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
)

// maxAnnotationsSize is the API server's limit on the total size of an object's annotations.
const maxAnnotationsSize = 256 << 10

// checkMetadata refuses labels, annotations and data keys the API server would refuse,
// before the write, with a message that names the key and the rule. The API server's own
// error would quote the rejected value, which a template may have rendered from a secret.
// The values may change at the next refresh, so the pass is looked at again then.
func checkMetadata(es *esv1.ExternalSecret, out *rendered) error {
	var problems []string
	known := knownNamesOf(es, out)
	for _, k := range slices.Sorted(maps.Keys(out.labels)) {
		if len(validation.IsQualifiedName(k)) > 0 {
			problems = append(problems, fmt.Sprintf("label key %s is not a valid label key (an optional DNS prefix and a "+
				"name of at most 63 characters: letters, digits, '-', '_', '.')", nameOf(k, known)))
		} else if len(validation.IsValidLabelValue(out.labels[k])) > 0 {
			problems = append(problems, fmt.Sprintf("the value of label %s is not a valid label value (at most 63 "+
				"characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)", nameOf(k, known)))
		}
	}
	size := 0
	for _, k := range slices.Sorted(maps.Keys(out.annotations)) {
		size += len(k) + len(out.annotations[k])
		if len(validation.IsQualifiedName(k)) > 0 {
			problems = append(problems, fmt.Sprintf("annotation key %s is not a valid annotation key (an optional DNS "+
				"prefix and a name of at most 63 characters: letters, digits, '-', '_', '.')", nameOf(k, known)))
		}
	}
	if size > maxAnnotationsSize {
		problems = append(problems, fmt.Sprintf("the annotations total %d bytes, over Kubernetes' limit of %d (256 KiB)",
			size, maxAnnotationsSize))
	}
	if err := checkDataKeys(es, out); err != nil {
		return err
	}
	return refusal(es, problems)
}

// checkDataKeys refuses Secret keys the API server would refuse.
func checkDataKeys(es *esv1.ExternalSecret, out *rendered) error {
	var problems []string
	known := knownNamesOf(es, out)
	for _, k := range slices.Sorted(maps.Keys(out.data)) {
		if len(validation.IsConfigMapKey(k)) > 0 {
			problems = append(problems, fmt.Sprintf("Secret key %s is not a valid key (letters, digits, '-', '_', '.'; at "+
				"most 253 characters): rename it with dataFrom rewrite or the template", nameOf(k, known)))
		}
	}
	return refusal(es, problems)
}

// knownNames are the key names a message may quote: those written in the spec (data
// secretKeys, template.data keys, template.metadata, and any name the spec's template text
// spells out, as "team: {{ .x }}" does) and the names of the fetched data (remote names,
// which are not values). Any other name templateFrom rendered may be a value
// ("{{ .password | upper }}: x"), in an encoding redaction cannot guess, so it is never
// quoted.
type knownNames struct {
	names map[string]bool
	texts []string
}

func knownNamesOf(es *esv1.ExternalSecret, out *rendered) knownNames {
	known := knownNames{names: map[string]bool{}}
	for k := range out.fetched {
		known.names[k] = true
	}
	for _, d := range es.Spec.Data {
		known.names[d.SecretKey] = true
	}
	t := es.Spec.Target.Template
	if t == nil {
		return known
	}
	for _, m := range []map[string]string{t.Data, t.Metadata.Labels, t.Metadata.Annotations} {
		for k, text := range m {
			known.names[k] = true
			known.texts = append(known.texts, text)
		}
	}
	for _, from := range t.TemplateFrom {
		if from.Literal != nil {
			known.texts = append(known.texts, *from.Literal)
		}
	}
	return known
}

// nameOf quotes a known name, and describes any other by its length only.
func nameOf(k string, known knownNames) string {
	inText := func(text string) bool { return strings.Contains(text, k) }
	if known.names[k] || k != "" && slices.ContainsFunc(known.texts, inText) {
		return strconv.Quote(k)
	}
	return fmt.Sprintf("(a name templateFrom rendered, %d bytes, not shown: it may hold a value)", len(k))
}

func refusal(es *esv1.ExternalSecret, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
	}
	wait := refreshInterval(es)
	if wait == 0 {
		wait = 5 * time.Minute
	}
	return outcome.Waiting(esv1.ReasonSecretSyncedError, fmt.Errorf("the Secret was not written, the API server would "+
		"refuse it: %s", strings.Join(problems, "; ")), wait)
}

// apiError describes a failed request about the Secret from the API server's reason and the
// names of the fields it complains about, never from its message: the API server quotes
// rejected values in its messages (a label value a template rendered from a secret).
func apiError(action, name string, err error) error {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return &apiErr{msg: fmt.Sprintf("%s Secret %s failed: no answer from the API server", action, name), err: err}
	}
	st := status.Status()
	msg := fmt.Sprintf("%s Secret %s: the API server answered %d %s", action, name, st.Code, st.Reason)
	if st.Details != nil {
		var fields []string
		for _, c := range st.Details.Causes {
			if c.Field != "" {
				fields = append(fields, fmt.Sprintf("%s (%s)", c.Field, c.Type))
			}
		}
		if len(fields) > 0 {
			msg += ": it rejected " + strings.Join(fields, ", ")
		}
	}
	return &apiErr{msg: msg, err: err}
}

// apiErr carries a safe message and keeps the API server's error for errors.Is/As
// (apierrors.IsAlreadyExists, IsConflict), never for printing.
type apiErr struct {
	msg string
	err error
}

func (e *apiErr) Error() string { return e.msg }
func (e *apiErr) Unwrap() error { return e.err }
