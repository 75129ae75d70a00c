package policy

import (
	"regexp"
	"strings"
	"testing"
)

// referenceResourceRegexp is IAM's documented Resource matching written as a regular
// expression, the reference the automata must agree with: "*" any run of characters within
// its colon-separated segment (or past colons when it ends the segment), "?" one character
// other than a colon, the rest literal and case-sensitive.
func referenceResourceRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	rs := []rune(p)
	for i, r := range rs {
		switch {
		case r == '*' && (i+1 == len(rs) || rs[i+1] == ':'):
			b.WriteString(`.*`)
		case r == '*':
			b.WriteString(`[^:]*`)
		case r == '?':
			b.WriteString(`[^:]`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

// FuzzResourceGlob compares the automaton of a Resource pattern with the reference on one
// string.
func FuzzResourceGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"*", "arn:aws:secretsmanager:us-east-1:1:secret:a-AbCdEf"},
		{"arn:aws:secretsmanager:*", "arn:aws:secretsmanager:us-east-1:1:secret:x"},
		{"arn:aws:secretsmanager:us-*:*secret:*", "arn:aws:secretsmanager:us-east-1:1:secret:x"},
		{"a?c*:d", "abc:x:d"},
		{"*x*", "ab:x:cd"},
		{"é*?", "éé"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if strings.Contains(pattern, "${") {
			return // variables are not globs; the evaluator reads them as "possible"
		}
		g, _ := resourceGlob(pattern, false)
		want := referenceResourceRegexp(pattern).MatchString(s)
		if got := matchGlob(g, s); got != want {
			t.Fatalf("pattern %q on %q: automaton %v, reference %v", pattern, s, got, want)
		}
	})
}

// FuzzGlobSearch checks the search that decides "every name" and "outside the prefix"
// against brute force: the patterns (comma-separated; a leading "!" makes a Deny) are
// evaluated on every string up to length 5 over a small alphabet, and each witness the
// search returns must satisfy the question by the reference. Both the question "is some
// string not granted" (the negation of "every string is granted") and "is some string
// granted" are checked.
func FuzzGlobSearch(f *testing.F) {
	for _, s := range []string{"*", "a*,!*b", "?*", "*a*,*b*", "a:*,!a:b", "*:*,!?", "ab*,b*,!*a", "??*,!a*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		var allow, deny []string
		for _, p := range strings.Split(spec, ",") {
			if len(p) > 6 || strings.Contains(p, "${") {
				return // keeps brute force small
			}
			if d, ok := strings.CutPrefix(p, "!"); ok {
				deny = append(deny, d)
			} else {
				allow = append(allow, p)
			}
		}
		if len(allow)+len(deny) > 5 {
			return
		}
		granted := func(s string) bool {
			any := func(ps []string) bool {
				for _, p := range ps {
					if referenceResourceRegexp(p).MatchString(s) {
						return true
					}
				}
				return false
			}
			return any(allow) && !any(deny)
		}
		for _, wantGranted := range []bool{true, false} {
			witness, found, err := searchGrant(allow, deny, wantGranted)
			if err != nil {
				t.Fatal(err)
			}
			if found && granted(witness) != wantGranted {
				t.Fatalf("allow %q deny %q: witness %q is not granted=%v by the reference", allow, deny, witness, wantGranted)
			}
			if brute, ok := bruteForce(granted, wantGranted); ok && !found {
				t.Fatalf("allow %q deny %q: search finds no string with granted=%v, brute force finds %q", allow, deny, wantGranted, brute)
			}
		}
	})
}

// searchGrant runs the evaluator's search over statements made from the patterns.
func searchGrant(allow, deny []string, wantGranted bool) (string, bool, error) {
	e := &iamEval{}
	for i, p := range allow {
		g, _ := resourceGlob(p, false)
		e.statements = append(e.statements, iamStatement{path: string(rune('a' + i)), allow: true, actions: []string{"*"}, resources: []string{p}, globs: []glob{g}})
	}
	for _, p := range deny {
		g, _ := resourceGlob(p, false)
		e.statements = append(e.statements, iamStatement{actions: []string{"*"}, resources: []string{p}, globs: []glob{g}})
	}
	l := e.layoutFor("s:a", true, []glob{many(anyChar)})
	return findString(l.unions, func(acc []bool) bool { return l.granted(acc) == wantGranted })
}

func bruteForce(granted func(string) bool, want bool) (string, bool) {
	alphabet := []string{"a", "b", ":", "é"}
	words := []string{""}
	for n := 0; n <= 5; n++ {
		var next []string
		for _, w := range words {
			if granted(w) == want {
				return w, true
			}
			for _, c := range alphabet {
				next = append(next, w+c)
			}
		}
		words = next
	}
	return "", false
}
