package safetpl

import (
	"regexp"
	"strings"
)

// ReplaceAll is re.ReplaceAllString (or ReplaceAllLiteralString when literal) that refuses,
// before it builds anything, a result over limit bytes. A replacement is inserted at every
// match, and a pattern that matches the empty string matches at every position: "" over
// 1 KiB with a 512 KiB replacement would ask for half a gigabyte, far past any check made
// on the result. A first pass counts the matches and their bytes (it allocates at most the
// input's size), from which the result's size is bounded: each match becomes at most the
// replacement plus, for each $ reference in it, the match itself.
func ReplaceAll(re *regexp.Regexp, src, repl string, literal bool, limit int) (string, bool) {
	matches, matched := 0, 0
	re.ReplaceAllStringFunc(src, func(m string) string {
		matches++
		matched += len(m)
		return ""
	})
	refs := 0
	if !literal {
		refs = strings.Count(repl, "$")
	}
	size := len(src) - matched
	for _, n := range []int{product(matches, len(repl)), product(refs, matched)} {
		if size += n; size > limit {
			return "", false
		}
	}
	if literal {
		return re.ReplaceAllLiteralString(src, repl), true
	}
	return re.ReplaceAllString(src, repl), true
}

// boundedReplaces replaces sprig's regexReplaceAll helpers (regex, s, repl) with versions
// whose result is bounded by ReplaceAll before it is built.
func boundedReplaces(limit int, tooBig func(string) error) map[string]any {
	bounded := func(name string, literal bool) func(string, string, string) (string, error) {
		return func(pattern, s, repl string) (string, error) {
			re, err := regexp.Compile(pattern)
			if err != nil {
				return "", Reason("the pattern is not a valid regular expression")
			}
			out, ok := ReplaceAll(re, s, repl, literal, limit)
			if !ok {
				return "", tooBig(name)
			}
			return out, nil
		}
	}
	return map[string]any{
		"regexReplaceAll":            bounded("regexReplaceAll", false),
		"mustRegexReplaceAll":        bounded("mustRegexReplaceAll", false),
		"regexReplaceAllLiteral":     bounded("regexReplaceAllLiteral", true),
		"mustRegexReplaceAllLiteral": bounded("mustRegexReplaceAllLiteral", true),
	}
}
