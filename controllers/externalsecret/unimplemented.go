package externalsecret

import (
	"errors"
	"fmt"
	"strings"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
)

// Vigil's CRDs accept every field of ESO's ExternalSecret so that ESO manifests apply
// unchanged. The fields below are accepted but not implemented; an ExternalSecret that uses
// one fails with SecretSyncedError naming it, instead of syncing with the field ignored.

// unimplemented returns a terminal SecretSyncedError naming the first fields of spec that
// Vigil does not implement, or nil.
func unimplemented(spec *esv1.ExternalSecretSpec) error {
	fields := append(targetUnimplemented(&spec.Target), dataUnimplemented(spec)...)
	if spec.SyncWindows != nil {
		fields = append(fields, "spec.syncWindows")
	}
	if len(fields) == 0 {
		return nil
	}
	return outcome.Terminal(esv1.ReasonSecretSyncedError, errors.New(strings.Join(fields, ", ")+
		": not implemented by Vigil yet (see docs/providers.md); remove the field or use ESO for this ExternalSecret"))
}

func targetUnimplemented(t *esv1.ExternalSecretTarget) []string {
	var out []string
	if t.Manifest != nil {
		out = append(out, "spec.target.manifest")
	}
	if t.CreationPolicy == "CreateOrMerge" {
		out = append(out, "spec.target.creationPolicy CreateOrMerge")
	}
	tpl := t.Template
	if tpl == nil {
		return out
	}
	if len(tpl.Metadata.Finalizers) > 0 {
		out = append(out, "spec.target.template.metadata.finalizers")
	}
	for i, from := range tpl.TemplateFrom {
		switch from.Target {
		case "", "Data", "Annotations", "Labels":
		default:
			out = append(out, fmt.Sprintf("spec.target.template.templateFrom[%d].target (a manifest path)", i))
		}
		if from.ValuesDecodingStrategy != "" && from.ValuesDecodingStrategy != esv1.DecodingStrategyNone {
			out = append(out, fmt.Sprintf("spec.target.template.templateFrom[%d].valuesDecodingStrategy", i))
		}
	}
	return out
}

// nullByteFail is ESO's nullBytePolicy that refuses values with NUL bytes.
const nullByteFail esv1.ExternalSecretNullBytePolicy = "Fail"

func dataUnimplemented(spec *esv1.ExternalSecretSpec) []string {
	var out []string
	for i, d := range spec.Data {
		if d.RemoteRef.NullBytePolicy == nullByteFail {
			out = append(out, fmt.Sprintf("spec.data[%d].remoteRef.nullBytePolicy Fail", i))
		}
	}
	for i, d := range spec.DataFrom {
		for j, rw := range d.Rewrite {
			if rw.Merge != nil {
				out = append(out, fmt.Sprintf("spec.dataFrom[%d].rewrite[%d].merge", i, j))
			}
		}
		extractFail := d.Extract != nil && d.Extract.NullBytePolicy == nullByteFail
		if extractFail || (d.Find != nil && d.Find.NullBytePolicy == nullByteFail) {
			out = append(out, fmt.Sprintf("spec.dataFrom[%d] nullBytePolicy Fail", i))
		}
	}
	return out
}
