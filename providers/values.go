package providers

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/tidwall/gjson"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// SelectProperty returns the value of a remote secret for one data entry: the whole value
// when property is empty, else the property of a JSON value (a gjson path such as
// "db.password"). A string property yields its text, any other JSON its raw form. Errors name
// the key and property, never the value.
func SelectProperty(value []byte, ref Ref, property string) ([]byte, error) {
	if property == "" {
		return value, nil
	}
	if !gjson.ValidBytes(value) {
		return nil, fmt.Errorf("key %s: value is not JSON, so property %q cannot be selected; remove remoteRef.property to use the whole value", ref, property)
	}
	res := gjson.GetBytes(value, property)
	if !res.Exists() {
		return nil, fmt.Errorf("key %s: property %q does not exist in the value", ref, property)
	}
	if res.Type == gjson.String {
		return []byte(res.Str), nil
	}
	return []byte(res.Raw), nil
}

// ExtractMap turns a JSON object (optionally one property of it) into Secret keys, as
// dataFrom.extract does: string fields yield their text, other fields their raw JSON.
func ExtractMap(value []byte, ref Ref, property string) (map[string][]byte, error) {
	if property != "" {
		v, err := SelectProperty(value, ref, property)
		if err != nil {
			return nil, err
		}
		value = v
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(value, &fields); err != nil {
		return nil, fmt.Errorf("key %s: dataFrom.extract needs a JSON object, and the value is not one", ref)
	}
	out := make(map[string][]byte, len(fields))
	for k, raw := range fields {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			out[k] = []byte(s)
			continue
		}
		out[k] = []byte(raw)
	}
	return out, nil
}

// Decode applies a decodingStrategy to a value.
func Decode(value []byte, strategy esv1.ExternalSecretDecodingStrategy, ref Ref) ([]byte, error) {
	switch strategy {
	case "", esv1.DecodingStrategyNone:
		return value, nil
	case esv1.DecodingStrategyBase64:
		return decodeWith(base64.StdEncoding, value, ref, strategy)
	case esv1.DecodingStrategyBase64URL:
		return decodeWith(base64.URLEncoding, value, ref, strategy)
	case esv1.DecodingStrategyAuto:
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if out, err := enc.DecodeString(string(value)); err == nil {
				return out, nil
			}
		}
		return value, nil
	}
	return nil, fmt.Errorf("key %s: unknown decodingStrategy %q", ref, strategy)
}

func decodeWith(enc *base64.Encoding, value []byte, ref Ref, strategy esv1.ExternalSecretDecodingStrategy) ([]byte, error) {
	out, err := enc.DecodeString(string(value))
	if err != nil {
		// The decoder's error names an offset, not the value: safe to wrap.
		return nil, fmt.Errorf("key %s: decodingStrategy %s: value is not valid base64: %w", ref, strategy, err)
	}
	return out, nil
}
