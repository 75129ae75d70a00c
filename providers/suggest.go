package providers

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/tidwall/gjson"
)

// Bounds of the names a failure message suggests: names are read from a listing or a
// value's keys, which a tenant or the backend controls.
const (
	// MaxSuggestNames is the most names one listing contributes to a suggestion.
	MaxSuggestNames = 100
	// maxSuggested names are shown, closest first.
	maxSuggested = 3
	// maxNameInMessage bytes of each shown name.
	maxNameInMessage = 64
)

// Closest returns up to three of names nearest to target by edit distance (ties by
// name), leaving out target itself. Only the first MaxSuggestNames names are looked at.
func Closest(target string, names []string) []string {
	if len(names) > MaxSuggestNames {
		names = names[:MaxSuggestNames]
	}
	type scored struct {
		name string
		d    int
	}
	var all []scored
	for _, n := range names {
		if n != target {
			all = append(all, scored{n, levenshtein.ComputeDistance(target, n)})
		}
	}
	slices.SortFunc(all, func(a, b scored) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, 0, maxSuggested)
	for _, s := range all {
		if len(out) == maxSuggested {
			break
		}
		out = append(out, s.name)
	}
	return out
}

// QuoteNames quotes names for a message, each cut to a bounded length.
func QuoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", Truncate(n, maxNameInMessage))
	}
	return strings.Join(q, ", ")
}

// propertyHint names the properties that exist next to a missing one: the keys (never the
// values) of the JSON object the property's path leads into, closest first.
func propertyHint(value []byte, property string) string {
	parent, leaf := "", property
	if i := strings.LastIndex(property, "."); i >= 0 && gjson.GetBytes(value, property[:i]).IsObject() {
		parent, leaf = property[:i], property[i+1:]
	}
	obj := gjson.ParseBytes(value)
	if parent != "" {
		obj = gjson.GetBytes(value, parent)
	}
	if !obj.IsObject() {
		return ""
	}
	var keys, names []string
	obj.ForEach(func(k, _ gjson.Result) bool {
		keys = append(keys, k.String())
		if nameLike(k.String()) {
			names = append(names, k.String())
		}
		return len(keys) < MaxSuggestNames
	})
	if len(keys) == 0 {
		return "; the value is an empty JSON object"
	}
	where := "the value"
	if parent != "" {
		where = fmt.Sprintf("%q", Truncate(parent, maxNameInMessage))
	}
	if closest := Closest(leaf, names); len(closest) > 0 {
		return fmt.Sprintf("; closest properties in %s: %s", where, QuoteNames(closest))
	}
	return fmt.Sprintf("; %d properties exist in %s; none close to %q", len(keys), where,
		Truncate(leaf, maxNameInMessage))
}

var (
	// propertyName is what a property name a message may show looks like.
	propertyName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,63}$`)
	// alnumRun is a run of letters and digits between separators.
	alnumRun = regexp.MustCompile(`[A-Za-z0-9]{16,}`)
)

// nameLike reports whether a JSON key may be shown as a suggestion. Keys are the value's
// data: a value such as {"sk_live_…":"prod"} keeps its secret in a key. Shown are keys that
// look like names (propertyName) with no run of 16 or more letters and digits that holds a
// digit, and none of 32 or more at all: the shape of API keys, tokens and hex or base64
// text. A name such as "password" or "db_host" passes; "AKIAIOSFODNN7EXAMPLE" does not.
func nameLike(key string) bool {
	if !propertyName.MatchString(key) {
		return false
	}
	for _, run := range alnumRun.FindAllString(key, -1) {
		if len(run) >= 32 || strings.ContainsAny(run, "0123456789") {
			return false
		}
	}
	return true
}

// NameLister is implemented by clients that can list the names near a key without reading
// any value (ListSecrets, DescribeParameters, a Vault LIST, a metadata-only list of
// Secrets): the hint of a missing key. One call, at most MaxSuggestNames names. A refused
// listing returns an error and the hint is left out.
type NameLister interface {
	// ListNames returns names (as remote keys are written) under the key's parent.
	ListNames(ctx context.Context, key string) ([]string, error)
}

// ParentPrefix is the part of a key up to and including its last "/", the prefix its
// neighbours share; "" for a key without one.
func ParentPrefix(key string) string {
	if i := strings.LastIndex(key, "/"); i >= 0 {
		return key[:i+1]
	}
	return ""
}

// SuggestNames describes the names closest to a missing key, from one listing of the
// names under its parent; "" when the client cannot list, the listing fails (the identity
// may not list) or finds nothing near.
func SuggestNames(ctx context.Context, c Client, key string) string {
	l, ok := c.(NameLister)
	if !ok {
		return ""
	}
	names, err := l.ListNames(ctx, key)
	if err != nil {
		return ""
	}
	closest := Closest(key, names)
	if len(closest) == 0 {
		return "the key does not exist, and no names were found next to it"
	}
	return "the key does not exist; closest existing names: " + QuoteNames(closest)
}
