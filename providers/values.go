package providers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/internal/safetpl"
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
		return nil, fmt.Errorf(
			"key %s: value is not JSON, so property %q cannot be selected; remove "+
				"remoteRef.property to use the whole value", ref, property)
	}
	res := gjson.GetBytes(value, property)
	if !res.Exists() {
		// A key with dots (a Kubernetes Secret's tls.crt) is a path of two names to gjson;
		// read it as one name too.
		res = gjson.GetBytes(value, gjson.Escape(property))
	}
	if !res.Exists() {
		return nil, fmt.Errorf("key %s: property %q does not exist in the value%s", ref, property,
			propertyHint(value, property))
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
	// gjson, not encoding/json: a string's bytes come out as they are, so a value that is not
	// UTF-8 (a binary Secret key, see MarshalBytesObject) is not replaced by U+FFFD.
	res := gjson.ParseBytes(value)
	if res.Type == gjson.Null && gjson.ValidBytes(value) {
		return map[string][]byte{}, nil
	}
	if !gjson.ValidBytes(value) || !res.IsObject() {
		return nil, fmt.Errorf("key %s: dataFrom.extract needs a JSON object, and the value is not one", ref)
	}
	out := map[string][]byte{}
	tooMany := false
	res.ForEach(func(k, v gjson.Result) bool {
		if _, seen := out[k.Str]; !seen && len(out) >= MaxExtractKeys {
			tooMany = true
			return false
		}
		if v.Type == gjson.String {
			out[k.Str] = []byte(v.Str)
		} else {
			out[k.Str] = []byte(v.Raw)
		}
		return true
	})
	if tooMany {
		return nil, LimitError(
			"key %s: dataFrom.extract found more than %d keys in the value, the most one extract may return; select a "+
				"part of it with remoteRef.property", ref, MaxExtractKeys)
	}
	return out, nil
}

// MaxExtractKeys is the most keys one dataFrom.extract may return: a value of a few
// megabytes of one-byte fields ({"a":1,"b":1,…}) would otherwise become a map of a million
// entries, hundreds of megabytes, before the Secret's size is checked.
const MaxExtractKeys = 10000

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
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding,
			base64.RawStdEncoding, base64.RawURLEncoding} {
			if out, err := enc.DecodeString(string(value)); err == nil {
				return out, nil
			}
		}
		return value, nil
	}
	return nil, fmt.Errorf("key %s: unknown decodingStrategy %q", ref, strategy)
}

func decodeWith(enc *base64.Encoding, value []byte, ref Ref,
	strategy esv1.ExternalSecretDecodingStrategy) ([]byte, error) {
	out, err := enc.DecodeString(string(value))
	if err != nil {
		// The decoder's error names an offset, not the value: safe to wrap.
		return nil, fmt.Errorf("key %s: decodingStrategy %s: value is not valid base64: %w", ref, strategy, err)
	}
	return out, nil
}

var invalidKeyRun = regexp.MustCompile(`[^-._a-zA-Z0-9]+`)

// ConvertKey turns a remote name into a valid Secret key ([-._a-zA-Z0-9]+), as ESO's
// conversionStrategy does: Default replaces each run of other characters with "_", Unicode
// each such character with "_U<hex code point>_".
func ConvertKey(name string, strategy esv1.ExternalSecretConversionStrategy) string {
	if strategy != esv1.ConversionStrategyUnicode {
		return invalidKeyRun.ReplaceAllString(name, "_")
	}
	var b strings.Builder
	for _, r := range name {
		if r == '-' || r == '.' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, "_U%04x_", r)
	}
	return b.String()
}

// rewriteEngine runs rewrite templates with sprig's functions, within safetpl's default
// limits; it is built once, on first use.
var rewriteEngine = sync.OnceValue(func() *safetpl.Engine { return safetpl.New(safetpl.Defaults(), nil) })

// Rewrite renames keys with dataFrom[].rewrite, in order: regexp replaces source by target
// (with $1 references); transform renders a template over {{ .value }}, the key.
func Rewrite(data map[string][]byte, rewrites []esv1.ExternalSecretRewrite) (map[string][]byte, error) {
	for i, rw := range rewrites {
		next := make(map[string][]byte, len(data))
		switch {
		case rw.Regexp != nil:
			if err := rewriteKeys(i, rw.Regexp, data, next); err != nil {
				return nil, err
			}
		case rw.Transform != nil:
			// A tenant's template: bounded like target.template (deadline, output, steps).
			engine := rewriteEngine()
			budget := engine.Budget(context.Background())
			for k, v := range data {
				key, err := engine.Render(budget, rw.Transform.Template, map[string]string{"value": k})
				if err != nil {
					return nil, fmt.Errorf("rewrite[%d].transform.template: %w", i, err)
				}
				next[key] = v
			}
		default:
			return nil, fmt.Errorf("rewrite[%d] sets neither regexp nor transform", i)
		}
		data = next
	}
	return data, nil
}

// MarshalJSON encodes a backend's key/value map as a provider value: no HTML escaping and no
// trailing newline, so that a stored JSON object with sorted keys reads back byte for byte
// (providers whose backends keep maps: Vault, Kubernetes).
func MarshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// MarshalBytesObject encodes a map of binary values (a Kubernetes Secret's data) as a
// provider value: a JSON object with sorted keys whose strings hold each value's bytes as
// they are. Only '"', '\\' and control bytes are escaped; bytes that are not UTF-8 stay raw
// (JSON proper would turn them into U+FFFD), and SelectProperty and ExtractMap, which read
// strings with gjson, give them back byte for byte.
func MarshalBytesObject(m map[string][]byte) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		writeRawString(&b, []byte(k))
		b.WriteByte(':')
		writeRawString(&b, m[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeRawString(b *bytes.Buffer, v []byte) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, c := range v {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// Limits of a dataFrom rewrite regexp. Go's regexps run in linear time, but with a factor
// that grows with the pattern, and the target is inserted at every match (a source that
// matches the empty string matches at every position): each is bounded before it runs.
const (
	maxRewritePattern = 4096
	// maxRewriteCost bounds the pattern's length times the bytes of all keys.
	maxRewriteCost = 1 << 26
	// maxRewriteKeys bounds the bytes of all renamed keys together.
	maxRewriteKeys = MaxValueBytes
)

// rewriteKeys renames the keys of data into next with one regexp rewrite, within the limits
// above; errors name the rewrite and the limit, never a key.
func rewriteKeys(i int, rx *esv1.ExternalSecretRewriteRegexp, data, next map[string][]byte) error {
	if len(rx.Source) > maxRewritePattern {
		return fmt.Errorf("rewrite[%d].regexp.source is %d bytes, over the limit of %d", i, len(rx.Source), maxRewritePattern)
	}
	re, err := regexp.Compile(rx.Source)
	if err != nil {
		return fmt.Errorf("rewrite[%d].regexp.source: %w", i, err)
	}
	keys := 0
	for k := range data {
		keys += len(k) + 1
	}
	if (len(rx.Source)+1)*keys > maxRewriteCost {
		return LimitError(
			"rewrite[%d].regexp: a source of %d bytes over %d bytes of keys exceeds the rewrite limit (source × keys at most "+
				"%d): shorten the source or narrow the keys with find filters", i, len(rx.Source), keys, maxRewriteCost)
	}
	left := maxRewriteKeys
	for k, v := range data {
		key, ok := safetpl.ReplaceAll(re, k, rx.Target, false, left)
		if !ok {
			return LimitError(
				"rewrite[%d].regexp: the renamed keys would exceed %s together (the target is inserted at every match of the "+
					"source): use a source that does not match the empty string, or a shorter target", i, mib(maxRewriteKeys))
		}
		left -= len(key)
		next[key] = v
	}
	return nil
}
