package policy

import (
	"fmt"
	"regexp/syntax"

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
			fact["opensToEveryNamespace"], fact["why"], fact["path"] = true, why, fmt.Sprintf("spec.conditions[%d].namespaceSelector", i)
		} else if keys := pinnedKeys(c.NamespaceSelector); len(keys) > 0 {
			fact["pinnedKeys"] = keys // the rule's tenantLabels parameter may say creators set them
		}
		for j, expr := range c.NamespaceRegexes {
			if fact["opensToEveryNamespace"] == true {
				break
			}
			if open, why := regexOpen(expr); open {
				fact["opensToEveryNamespace"], fact["why"], fact["path"] = true, why, fmt.Sprintf("spec.conditions[%d].namespaceRegexes[%d]", i, j)
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
	return true, fmt.Sprintf("namespaceSelector %q pins no label to chosen values (only In or = does): Exists, DoesNotExist, NotIn, != and Gt/Lt match namespaces whatever labels they carry, new ones included", sel.String())
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
	if anchoredLiteral(re.Simplify()) {
		return false, ""
	}
	return true, fmt.Sprintf("namespaceRegexes %q does not start with ^ and a fixed prefix (such as ^team-a-), so it matches namespace names that anybody can pick", expr)
}

// anchoredLiteral reports whether every match of re starts at the beginning of the text
// with a non-empty literal.
func anchoredLiteral(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpCapture:
		return anchoredLiteral(re.Sub[0])
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchoredLiteral(sub) {
				return false
			}
		}
		return true
	case syntax.OpConcat:
		for i, sub := range re.Sub {
			switch {
			case sub.Op == syntax.OpBeginText || sub.Op == syntax.OpBeginLine:
				return leadsWithLiteral(re.Sub[i+1:])
			case zeroWidth(sub):
				continue
			default:
				return anchoredLiteral(sub)
			}
		}
	}
	return false
}

// leadsWithLiteral reports whether every string a sequence matches starts with a non-empty
// literal.
func leadsWithLiteral(seq []*syntax.Regexp) bool {
	for _, re := range seq {
		if zeroWidth(re) {
			continue
		}
		switch re.Op {
		case syntax.OpLiteral:
			return len(re.Rune) > 0
		case syntax.OpCapture, syntax.OpPlus:
			return leadsWithLiteral(re.Sub)
		case syntax.OpRepeat:
			return re.Min >= 1 && leadsWithLiteral(re.Sub)
		case syntax.OpConcat:
			return leadsWithLiteral(re.Sub)
		case syntax.OpAlternate:
			for _, sub := range re.Sub {
				if !leadsWithLiteral([]*syntax.Regexp{sub}) {
					return false
				}
			}
			return true
		}
		return false
	}
	return false
}

func zeroWidth(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	return false
}
