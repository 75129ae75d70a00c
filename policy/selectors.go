package policy

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// conditionFacts answers, for each condition of a ClusterSecretStore, "could a namespace
// that someone creates tomorrow match it?", read as the API server and internal/stores read
// the condition (any of selector, names and regexes may match).
//
// The model: a new namespace has a name of its creator's choosing, the label
// kubernetes.io/metadata.name set to that name by the API server, and otherwise no labels
// or whatever labels its creator gives it; only the value an admin chose for a label is a
// scope. So a selector is scoped only when one of its requirements pins a label to chosen
// values (In or =; on kubernetes.io/metadata.name that is a list of names); Exists,
// DoesNotExist, NotIn, != and Gt/Lt admit namespaces whatever their labels say. A regex
// (matched unanchored, as Go's MatchString does) is scoped only when every name it matches
// starts with a fixed literal prefix (e.g. ^team-a-); one with no such prefix matches
// names anybody can pick. Names in spec.conditions[].namespaces are scoped. Where namespace
// creators may set some labels themselves (self-service namespaces), the rule's parameter
// tenantLabels lists them, and a selector scoped only by those (pinnedKeys) is open too.
func conditionFacts(conds []esv1.ClusterSecretStoreCondition) []any {
	out := make([]any, 0, len(conds))
	for i, c := range conds {
		fact := map[string]any{"opensToEveryNamespace": false, "path": fmt.Sprintf("spec.conditions[%d]", i)}
		if open, why := selectorOpen(c.NamespaceSelector); open {
			path := fmt.Sprintf("spec.conditions[%d].namespaceSelector", i)
			fact["opensToEveryNamespace"], fact["why"], fact["path"] = true, why, path
		} else if keys := pinnedKeys(c.NamespaceSelector); len(keys) > 0 {
			fact["pinnedKeys"] = keys // the rule's tenantLabels parameter may say creators set them
		}
		for j, expr := range c.NamespaceRegexes {
			if fact["opensToEveryNamespace"] == true {
				break
			}
			if open, why := regexOpen(expr); open {
				path := fmt.Sprintf("spec.conditions[%d].namespaceRegexes[%d]", i, j)
				fact["opensToEveryNamespace"], fact["why"], fact["path"] = true, why, path
			}
		}
		out = append(out, fact)
	}
	return out
}

// selectorOpen reports whether a namespaceSelector admits namespaces that nobody labelled
// for it. A selector that does not parse selects nothing (the store refuses to resolve).
func selectorOpen(ls *metav1.LabelSelector) (bool, string) {
	if ls == nil {
		return false, ""
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return false, ""
	}
	reqs, selectable := sel.Requirements()
	if !selectable {
		return false, "" // labels.Nothing
	}
	if len(reqs) == 0 {
		return true, "namespaceSelector is empty, so it matches every namespace"
	}
	for _, r := range reqs {
		if pinsValues(r) {
			return false, ""
		}
	}
	return true, fmt.Sprintf(
		"namespaceSelector %q pins no label to chosen values (only In or = does): Exists, DoesNotExist, NotIn, != and "+
			"Gt/Lt match namespaces whatever labels they carry, new ones included", sel.String())
}

// pinnedKeys lists the label keys whose values scope a selector, for a selector that is
// scoped by labels alone; nil when it is not scoped, or is scoped by namespace name (which
// only the API server sets).
func pinnedKeys(ls *metav1.LabelSelector) []any {
	if ls == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil
	}
	reqs, _ := sel.Requirements()
	var keys []any
	for _, r := range reqs {
		if !pinsValues(r) {
			continue
		}
		if r.Key() == corev1.LabelMetadataName {
			return nil
		}
		keys = append(keys, r.Key())
	}
	return keys
}

// pinsValues reports whether a requirement limits namespaces to values an admin chose.
func pinsValues(r labels.Requirement) bool {
	switch r.Operator() {
	case selection.In, selection.Equals, selection.DoubleEquals:
		return true
	case selection.DoesNotExist:
		// Every namespace has this label: requiring its absence matches none.
		return r.Key() == corev1.LabelMetadataName
	}
	return false
}

// regexOpen reports whether a namespace regex matches names that do not start with a fixed
// literal prefix. A regex that does not compile matches nothing (the store refuses to
// resolve).
func regexOpen(expr string) (bool, string) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return false, ""
	}
	if scopedLanguage(re.Simplify()) {
		return false, ""
	}
	return true, fmt.Sprintf(
		"namespaceRegexes %q does not start with ^ and a fixed prefix (such as ^team-a-), so it matches "+
			"namespace names that anybody can pick", expr)
}

// Markers in the strings of prefixSet: the start and the end of the text (a namespace name
// holds neither character).
const (
	textStart = "\x01"
	textEnd   = "\x00"
)

// scopedLanguage reports whether every namespace name re matches (unanchored, as
// MatchString does) starts with one of a finite set of non-empty literals: each string of
// its prefix set begins at the start of the text and, but for an exact empty name (which
// no namespace has), holds at least one character. So ^team-, ^(a|b)$, ^[ab]-x and ^$ are
// scoped; .*, team-a (unanchored), ^[a-z]+$ and ^(team-a)? are not.
func scopedLanguage(re *syntax.Regexp) bool {
	set, _ := prefixSet(re)
	for _, s := range set {
		rest, anchored := strings.CutPrefix(s, textStart)
		switch {
		case !anchored:
			return false
		case rest == textEnd:
			// Matches only the empty name: no namespace.
		case rest == "":
			return false
		}
	}
	return true
}

// maxPrefixes bounds the prefix sets (and maxClassRunes the character classes spelled out):
// past them a regex is read as matching anything from that point on.
const (
	maxPrefixes   = 64
	maxClassRunes = 16
)

// prefixSet returns strings such that every match of re starts with one of them (start and
// end of text written as textStart and textEnd), and complete: re matches exactly those.
func prefixSet(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		lit := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			lit = strings.ToLower(lit) // namespace names are lower case
		}
		return []string{lit}, true
	case syntax.OpCharClass:
		var runes []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(runes) == maxClassRunes {
					return []string{""}, false
				}
				runes = append(runes, string(r))
			}
		}
		return runes, true
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpBeginText, syntax.OpBeginLine:
		return []string{textStart}, true
	case syntax.OpEndText, syntax.OpEndLine:
		return []string{textEnd}, true
	case syntax.OpCapture:
		return prefixSet(re.Sub[0])
	case syntax.OpPlus:
		set, _ := prefixSet(re.Sub[0])
		return set, false
	case syntax.OpRepeat:
		if re.Min >= 1 {
			set, _ := prefixSet(re.Sub[0])
			return set, false
		}
	case syntax.OpQuest:
		set, complete := prefixSet(re.Sub[0])
		return union(set, []string{""}), complete
	case syntax.OpAlternate:
		var set []string
		complete := true
		for _, sub := range re.Sub {
			s, c := prefixSet(sub)
			set, complete = union(set, s), complete && c
		}
		if len(set) > maxPrefixes {
			return []string{""}, false
		}
		return set, complete
	case syntax.OpConcat:
		return concatPrefixes(re.Sub)
	}
	return []string{""}, false // star, any character, ...: anything may follow
}

// concatPrefixes joins the prefix sets of a sequence, up to the first element that is not
// complete.
func concatPrefixes(seq []*syntax.Regexp) ([]string, bool) {
	set := []string{""}
	for _, sub := range seq {
		next, complete := prefixSet(sub)
		var joined []string
		for _, a := range set {
			for _, b := range next {
				joined = union(joined, []string{a + b})
			}
		}
		if len(joined) > maxPrefixes {
			return set, false
		}
		set = joined
		if !complete {
			return set, false
		}
	}
	return set, true
}

func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}
