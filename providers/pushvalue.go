package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Helpers the Pushers share: data[].metadata in ESO's PushSecretMetadata shape, and
// remoteRef.property, a JSON path (gjson/sjson syntax, as ESO) into the remote value.

// pushMetadata is ESO's envelope of data[].metadata.
type pushMetadata[T any] struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Spec       T      `json:"spec"`
}

// ParsePushMetadata decodes data[].metadata ({apiVersion, kind: PushSecretMetadata, spec})
// into spec. A field spec does not know is refused by name (a setting silently ignored would
// be worse); nil metadata gives the zero spec. fields lists the known ones, for the message.
func ParsePushMetadata[T any](raw *apiextensionsv1.JSON, fields string) (T, error) {
	var m pushMetadata[T]
	if raw == nil || len(raw.Raw) == 0 {
		return m.Spec, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw.Raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		// The decoder's message names a field or a type, never the document's values...
		// except for a value of the wrong type, which it does not quote either.
		return m.Spec, Configf("data[].metadata is not a PushSecretMetadata this provider understands (spec takes %s): %s",
			fields, metadataProblem(err))
	}
	if m.Kind != "" && m.Kind != "PushSecretMetadata" {
		return m.Spec, Configf("data[].metadata.kind %q is not PushSecretMetadata", m.Kind)
	}
	return m.Spec, nil
}

// metadataProblem describes a decoding error by its kind: an unknown field by its name, a
// type mismatch by its field.
func metadataProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s has the wrong type (%s expected)", te.Field, te.Type)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + f
	}
	return "it is not a JSON object"
}

// SetProperty returns current with property set to value (a JSON string of its bytes), as
// ESO writes remoteRef.property: the other properties are kept. An empty current starts an
// object; a current value that is not a JSON object is a ConfigError (nothing to merge into).
func SetProperty(current []byte, property string, value []byte) ([]byte, error) {
	if len(bytes.TrimSpace(current)) == 0 {
		current = []byte("{}")
	}
	if !gjson.ValidBytes(current) || !gjson.ParseBytes(current).IsObject() {
		return nil, Configf("remoteRef.property %q needs the remote secret to hold a JSON object, and it holds "+
			"something else; push without property, or to another remoteKey", property)
	}
	out, err := sjson.SetBytes(current, property, string(value))
	if err != nil {
		return nil, Configf("remoteRef.property %q is not a JSON path", property)
	}
	return out, nil
}

// HasProperty reports whether a remote value is a JSON object that holds property.
func HasProperty(current []byte, property string) bool {
	return gjson.ValidBytes(current) && gjson.GetBytes(current, property).Exists()
}

// DeleteProperty returns current without property, and whether any property is left (when
// none is, the caller deletes the whole secret, as ESO does).
func DeleteProperty(current []byte, property string) (out []byte, left bool, err error) {
	out, err = sjson.DeleteBytes(current, property)
	if err != nil {
		return nil, false, Configf("remoteRef.property %q is not a JSON path", property)
	}
	left = false
	gjson.ParseBytes(out).ForEach(func(_, _ gjson.Result) bool {
		left = true
		return false
	})
	return out, left, nil
}
