package externalsecret

import (
	"errors"
	"fmt"
	"maps"
	"slices"
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
	for _, k := range slices.Sorted(maps.Keys(out.labels)) {
		if len(validation.IsQualifiedName(k)) > 0 {
			problems = append(problems, fmt.Sprintf("label key %q is not a valid label key (an optional DNS prefix and a name of at most 63 characters: letters, digits, '-', '_', '.')", k))
		} else if len(validation.IsValidLabelValue(out.labels[k])) > 0 {
			problems = append(problems, fmt.Sprintf("the value of label %q is not a valid label value (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)", k))
		}
	}
	size := 0
	for _, k := range slices.Sorted(maps.Keys(out.annotations)) {
		size += len(k) + len(out.annotations[k])
		if len(validation.IsQualifiedName(k)) > 0 {
			problems = append(problems, fmt.Sprintf("annotation key %q is not a valid annotation key (an optional DNS prefix and a name of at most 63 characters: letters, digits, '-', '_', '.')", k))
		}
	}
	if size > maxAnnotationsSize {
		problems = append(problems, fmt.Sprintf("the annotations total %d bytes, over Kubernetes' limit of %d (256 KiB)", size, maxAnnotationsSize))
	}
	if err := checkDataKeys(es, out.data); err != nil {
		return err
	}
	return refusal(es, problems)
}

// checkDataKeys refuses Secret keys the API server would refuse.
func checkDataKeys(es *esv1.ExternalSecret, data map[string][]byte) error {
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if len(validation.IsConfigMapKey(k)) > 0 {
			problems = append(problems, fmt.Sprintf("Secret key %q is not a valid key (letters, digits, '-', '_', '.'; at most 253 characters): rename it with dataFrom rewrite or the template", k))
		}
	}
	return refusal(es, problems)
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
	return outcome.Waiting(esv1.ReasonSecretSyncedError, fmt.Errorf("the Secret was not written, the API server would refuse it: %s", strings.Join(problems, "; ")), wait)
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
