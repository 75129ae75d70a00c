package policy

import (
	"encoding/binary"
	"errors"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// IAM resource patterns are globs: "*" any run of characters, "?" one character, the rest
// literal, case-sensitive. Questions such as "does this set of Allow and Deny patterns
// grant every secret name?" are questions about the languages of globs, so they are
// answered on automata, not on strings: every glob (and every "target" language such as
// "all Secrets Manager ARNs of an account") is a small NFA, and a breadth-first search over
// the product of their state sets finds a string with a wanted property, or proves there is
// none. Characters that no pattern mentions and that belong to the same character classes
// behave identically, so the search runs over one representative of each.

// errTooComplex: the product of the automata grew past the search budget.
var errTooComplex = errors.New("the IAM policies are too complex to analyse")

// searchBudget bounds the states one question may visit: policies are at most a few KiB,
// so real documents stay far below it, and a hostile one ends as "unknown", not as a stall.
const searchBudget = 20000

// charClass is a set of characters, as a predicate.
type charClass func(rune) bool

func anyChar(rune) bool    { return true }
func notColon(r rune) bool { return r != ':' }
func isAlnum(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}
func literal(c rune) charClass { return func(r rune) bool { return r == c } }

// smNameChar: the characters of a Secrets Manager secret name.
func smNameChar(r rune) bool { return isAlnum(r) || strings.ContainsRune("/_+=.@-", r) }

// ssmNameChar: the characters of a Parameter Store name (the hierarchy separator included).
func ssmNameChar(r rune) bool { return isAlnum(r) || strings.ContainsRune("_.-/", r) }

// node is one step of a glob: one character of a class, or (star) any run of them.
type node struct {
	class charClass
	star  bool
	lit   rune // the literal character, or -1: literals join the search alphabet
}

// glob is a sequence of nodes: the automaton of one pattern or target.
type glob []node

// litGlob matches exactly s.
func litGlob(s string) glob {
	var g glob
	for _, r := range s {
		g = append(g, node{class: literal(r), lit: r})
	}
	return g
}

// then concatenates globs.
func (g glob) then(more ...glob) glob {
	out := append(glob{}, g...)
	for _, m := range more {
		out = append(out, m...)
	}
	return out
}

func one(c charClass) glob  { return glob{{class: c, lit: -1}} }
func many(c charClass) glob { return glob{{class: c, star: true, lit: -1}} }

// resourceGlob reads a Resource pattern as IAM does: "*" and "?" stay within the
// colon-separated segment of the ARN they are in, except that a "*" ending a segment may
// run past colons (IAM's documented rule; so "*" alone, or "arn:aws:secretsmanager:*",
// matches every ARN). With vars (policy Version 2012-10-17), ${*}, ${?} and ${$} are the
// literal characters and any other ${...} is a policy variable: its value is not known
// here, so it reads as "*" and hasVar tells the caller the match is only possible.
func resourceGlob(p string, vars bool) (g glob, hasVar bool) {
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		segmentEnd := i+1 == len(rs) || rs[i+1] == ':'
		if vars && r == '$' && i+1 < len(rs) && rs[i+1] == '{' {
			if end := indexRune(rs[i:], '}'); end > 0 {
				name := string(rs[i+2 : i+end])
				i += end
				switch name {
				case "*", "?", "$":
					g = append(g, node{class: literal(rune(name[0])), lit: rune(name[0])})
				default:
					hasVar = true
					g = append(g, node{class: anyChar, star: true, lit: -1})
				}
				continue
			}
		}
		switch r {
		case '*':
			if segmentEnd {
				g = append(g, node{class: anyChar, star: true, lit: -1})
			} else {
				g = append(g, node{class: notColon, star: true, lit: -1})
			}
		case '?':
			g = append(g, node{class: notColon, lit: -1})
		default:
			g = append(g, node{class: literal(r), lit: r})
		}
	}
	return g, hasVar
}

func indexRune(rs []rune, c rune) int {
	for i, r := range rs {
		if r == c {
			return i
		}
	}
	return -1
}

// automaton is a union of globs prepared over an alphabet: their nodes one after the
// other, each glob followed by an end node (no transitions) that is its accepting position.
type automaton struct {
	nodes  []node
	sets   [][]bool // sets[i][sym]: node i accepts symbol sym
	starts []int
	ends   stateSet
}

// stateSet is a set of positions in an automaton, as a bitmask over words.
type stateSet []uint64

func (s stateSet) has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }
func (s stateSet) add(i int)      { s[i/64] |= 1 << (i % 64) }

func (s stateSet) empty() bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

// enter adds position i and those reachable from it by skipping star nodes.
func (a *automaton) enter(s stateSet, i int) {
	for !s.has(i) {
		s.add(i)
		if !a.nodes[i].star {
			return
		}
		i++
	}
}

func (a *automaton) start() stateSet {
	s := make(stateSet, (len(a.nodes)+63)/64)
	for _, i := range a.starts {
		a.enter(s, i)
	}
	return s
}

func (a *automaton) step(s stateSet, sym int) stateSet {
	out := make(stateSet, len(s))
	for wi, w := range s {
		for w != 0 {
			i := wi*64 + bits.TrailingZeros64(w)
			w &= w - 1
			if !a.sets[i][sym] {
				continue
			}
			if a.nodes[i].star {
				a.enter(out, i)
			} else {
				a.enter(out, i+1)
			}
		}
	}
	return out
}

func (a *automaton) accepts(s stateSet) bool {
	for i, w := range s {
		if w&a.ends[i] != 0 {
			return true
		}
	}
	return false
}

// alphabet returns one representative character per class of characters that every glob
// treats alike: each literal is its own symbol; the other characters are grouped by the
// character classes they belong to (ASCII one by one, plus one character outside ASCII that
// no glob names).
func alphabet(globs []glob) []rune {
	lits := map[rune]bool{}
	var classes []charClass
	for _, g := range globs {
		for _, n := range g {
			if n.lit >= 0 {
				lits[n.lit] = true
			} else {
				classes = append(classes, n.class)
			}
		}
	}
	var reps []rune
	seen := map[string]bool{}
	consider := func(r rune) {
		if lits[r] {
			return
		}
		sig := make([]byte, len(classes))
		for i, c := range classes {
			if c(r) {
				sig[i] = 1
			}
		}
		if !seen[string(sig)] {
			seen[string(sig)] = true
			reps = append(reps, r)
		}
	}
	// Readable representatives first: they show in the examples of findings.
	for _, r := range "abcdefghijklmnopqrstuvwxyz0123456789-/" {
		consider(r)
	}
	for r := rune(0); r < utf8.RuneSelf; r++ {
		consider(r)
	}
	for r := rune(0x100); ; r++ { // a character outside ASCII that no glob names
		if !lits[r] {
			consider(r)
			break
		}
	}
	// In order: the search tries symbols in this order, so the example a finding shows
	// (and with it the output of vigil lint) must not depend on map order.
	return append(reps, slices.Sorted(maps.Keys(lits))...)
}

var never charClass = func(rune) bool { return false }

// prepare builds one automaton per union of globs.
func prepare(unions [][]glob, reps []rune) []*automaton {
	out := make([]*automaton, len(unions))
	for k, globs := range unions {
		a := &automaton{}
		var endAt []int
		for _, g := range globs {
			a.starts = append(a.starts, len(a.nodes))
			a.nodes = append(a.nodes, g...)
			endAt = append(endAt, len(a.nodes))
			a.nodes = append(a.nodes, node{class: never, lit: -1})
		}
		a.ends = make(stateSet, (len(a.nodes)+63)/64)
		for _, e := range endAt {
			a.ends.add(e)
		}
		a.sets = make([][]bool, len(a.nodes))
		for i, n := range a.nodes {
			a.sets[i] = make([]bool, len(reps))
			for j, r := range reps {
				a.sets[i][j] = n.class(r)
			}
		}
		out[k] = a
	}
	return out
}

// findString searches for a string w such that want(accepted) holds, where accepted[i]
// says whether some glob of unions[i] matches w. unions[0] is the target: w must be a
// prefix of one of its strings all along, so its dead states are not explored. It returns
// a shortest such string (as representatives), whether one exists, or errTooComplex.
func findString(unions [][]glob, want func(accepted []bool) bool) (string, bool, error) {
	var all []glob
	for _, u := range unions {
		all = append(all, u...)
	}
	reps := alphabet(all)
	autos := prepare(unions, reps)
	type item struct {
		states []stateSet
		word   []rune
	}
	var buf []byte
	key := func(ss []stateSet) string {
		buf = buf[:0]
		for _, s := range ss {
			for _, w := range s {
				buf = binary.LittleEndian.AppendUint64(buf, w)
			}
		}
		return string(buf)
	}
	first := make([]stateSet, len(autos))
	for i, a := range autos {
		first[i] = a.start()
	}
	queue := []item{{states: first}}
	seen := map[string]bool{key(first): true}
	accepted := make([]bool, len(autos))
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		for i, a := range autos {
			accepted[i] = a.accepts(it.states[i])
		}
		if want(accepted) {
			return string(it.word), true, nil
		}
		for sym := range reps {
			next := make([]stateSet, len(autos))
			for i, a := range autos {
				next[i] = a.step(it.states[i], sym)
			}
			if next[0].empty() {
				continue
			}
			k := key(next)
			if seen[k] {
				continue
			}
			if len(seen) >= searchBudget {
				return "", false, errTooComplex
			}
			seen[k] = true
			queue = append(queue, item{states: next, word: append(append([]rune{}, it.word...), reps[sym])})
		}
	}
	return "", false, nil
}

// matchGlob reports whether g matches s (one string, no search).
func matchGlob(g glob, s string) bool {
	reps := []rune(s)
	a := prepare([][]glob{{g}}, reps)[0]
	st := a.start()
	for i := range reps {
		st = a.step(st, i)
		if st.empty() {
			return false
		}
	}
	return a.accepts(st)
}
