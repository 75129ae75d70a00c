package safetpl

import (
	"reflect"
	"regexp"
	"strings"
	"text/template"
	"unicode/utf8"
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

// maxPieces is the most strings a splitting helper may return: each costs a string header
// (16 bytes) and, for split and splitn, a map entry with a made-up key, so "split" over
// 1 MiB with an empty separator would allocate over 100 MB before its result is checked.
func maxPieces(limit int) int { return limit / 16 }

// boundedSplits replaces the splitting helpers with versions that count their pieces
// before they build them.
func boundedSplits(f template.FuncMap, limit int) template.FuncMap {
	most := maxPieces(limit)
	tooBig := func(name string) error {
		return limitf("function %s: the result would hold more than %d strings, the template limit (1 MiB / 16)", name, most)
	}
	splitFn := f["split"].(func(string, string) map[string]string)
	splitListFn := f["splitList"].(func(string, string) []string)
	splitnFn := f["splitn"].(func(string, int, string) map[string]string)
	out := template.FuncMap{
		"split": func(sep, s string) (map[string]string, error) {
			if pieces(sep, s) > most {
				return nil, tooBig("split")
			}
			return splitFn(sep, s), nil
		},
		"splitList": func(sep, s string) ([]string, error) {
			if pieces(sep, s) > most {
				return nil, tooBig("splitList")
			}
			return splitListFn(sep, s), nil
		},
		"splitn": func(sep string, n int, s string) (map[string]string, error) {
			if (n < 0 || n > most) && pieces(sep, s) > most {
				return nil, tooBig("splitn")
			}
			return splitnFn(sep, n, s), nil
		},
	}
	for _, name := range []string{"regexSplit", "mustRegexSplit", "regexFindAll", "mustRegexFindAll"} {
		out[name] = guarded(f[name], func(args []reflect.Value) error {
			n := int(args[2].Int())
			pattern, s := args[0].String(), args[1].String()
			if n >= 0 && n <= most || len(pattern) > maxRegexp || product(len(pattern), len(s)+1) > maxRegexpCost {
				// Few pieces, or the regexp limit refuses the call: no need to count.
				return nil
			}
			re, err := regexp.Compile(pattern)
			if err != nil {
				return nil // the helper itself reports it
			}
			if matches(re, s) > most {
				return tooBig(name)
			}
			return nil
		})
	}
	return out
}

// pieces is how many strings strings.Split(s, sep) returns.
func pieces(sep, s string) int {
	if sep == "" {
		return utf8.RuneCountInString(s)
	}
	return strings.Count(s, sep) + 1
}

// matches counts the matches of re in s without keeping them.
func matches(re *regexp.Regexp, s string) int {
	n := 0
	re.ReplaceAllStringFunc(s, func(string) string { n++; return "" })
	return n + 1
}
