package safetpl

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// removed are sprig functions a tenant's template must not call: they read the
// controller's environment or do I/O (a DNS lookup from the controller's network).
var removed = []string{"env", "expandenv", "getHostByName"}

// slow are the functions that may take a noticeable time per call (bcrypt, scrypt, RSA key
// generation). Each call first checks the pass's deadline, so a template that calls them
// in a loop stops at the deadline instead of running on in its abandoned goroutine.
var slow = []string{
	"bcrypt", "htpasswd", "derivePassword", "genPrivateKey", "genCA", "genCAWithKey",
	"genSelfSignedCert", "genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey",
	"pkcs12key", "pkcs12keyPass", "pkcs12cert", "pkcs12certPass", "pemToPkcs12", "pemToPkcs12Pass",
	"fullPemToPkcs12", "fullPemToPkcs12Pass",
}

// buildFuncs returns sprig's text functions and extra, minus the removed ones, with the
// allocating helpers replaced by bounded versions and every function wrapped so that it
// refuses arguments (together) or a result larger than the value limit.
func buildFuncs(l Limits, extra template.FuncMap) template.FuncMap {
	f := sprig.TxtFuncMap()
	for _, name := range removed {
		delete(f, name)
	}
	for name, fn := range extra {
		f[name] = fn
	}
	for name, fn := range amplifiers(l, f) {
		f[name] = fn
	}
	for name, fn := range f {
		f[name] = sized(name, fn, l)
	}
	return f
}

// sized wraps fn so that it refuses arguments that together exceed the value limit, and a
// result that does: the size of every value a template holds stays bounded, so no chain
// of calls (cat $x $x in a loop) and no printing of a value can grow without bound.
func sized(name string, fn any, l Limits) any {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		left := l.MaxOutput
		for _, a := range args {
			n, ok := sizeOf(a, left)
			if !ok {
				panic(l.valueError(name))
			}
			left -= n
		}
		var out []reflect.Value
		if ft.IsVariadic() {
			out = fv.CallSlice(args)
		} else {
			out = fv.Call(args)
		}
		if len(out) == 2 && !out[1].IsNil() {
			return out
		}
		if len(out) > 0 {
			if _, ok := sizeOf(out[0], l.MaxOutput); !ok {
				panic(l.valueError(name))
			}
		}
		return out
	}).Interface()
}

// amplifiers are the functions whose output can be many times their input: each checks
// the size it would produce before it allocates anything. The text/template built-ins
// that format values (print, printf, println, html, js, urlquery) are replaced too, so
// that they pass through the size check like every other function.
func amplifiers(l Limits, f template.FuncMap) template.FuncMap {
	limit := l.MaxOutput
	tooBig := func(name string) error {
		return limitf("function %s: the result would exceed the template value limit of %d bytes (1 MiB)", name, limit)
	}
	out := template.FuncMap{
		"print":    fmt.Sprint,
		"println":  fmt.Sprintln,
		"printf":   func(format string, args ...any) (string, error) { return boundedPrintf(limit, format, args) },
		"html":     func(args ...any) string { return template.HTMLEscapeString(fmt.Sprint(args...)) },
		"js":       func(args ...any) string { return template.JSEscapeString(fmt.Sprint(args...)) },
		"urlquery": func(args ...any) string { return template.URLQueryEscaper(args...) },
	}
	for _, name := range []string{"randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes"} {
		out[name] = boundedCount(name, f[name], limit, tooBig)
	}
	for _, name := range []string{"wrap", "wrapWith"} {
		out[name] = boundedWrap(name, f[name], limit, tooBig)
	}
	// The splitting helpers are bounded over the regexp-checked versions, so that both
	// checks run.
	rx := regexps(f, limit, tooBig)
	withRx := template.FuncMap{}
	for _, m := range []template.FuncMap{f, rx} {
		for name, fn := range m {
			withRx[name] = fn
		}
	}
	for _, more := range []template.FuncMap{sequences(f, limit, tooBig), texts(f, limit, tooBig), quadratic(f, tooBig), rx,
		boundedSplits(withRx, limit)} {
		for name, fn := range more {
			out[name] = fn
		}
	}
	return out
}

// sequences bounds the helpers that make a string or list from a count.
func sequences(f template.FuncMap, limit int, tooBig func(string) error) template.FuncMap {
	repeatFn := f["repeat"].(func(int, string) string)
	untilStepFn := f["untilStep"].(func(int, int, int) []int)
	seqFn := f["seq"].(func(...int) string)
	return template.FuncMap{
		"repeat": func(count int, s string) (string, error) {
			if count < 0 || product(count, len(s)) > limit {
				return "", tooBig("repeat")
			}
			return repeatFn(count, s), nil
		},
		"until": func(count int) ([]int, error) {
			step := 1
			if count < 0 {
				step = -1
			}
			if steps(0, count, step) > limit {
				return nil, tooBig("until")
			}
			return untilStepFn(0, count, step), nil
		},
		"untilStep": func(start, stop, step int) ([]int, error) {
			if steps(start, stop, step) > limit {
				return nil, tooBig("untilStep")
			}
			return untilStepFn(start, stop, step), nil
		},
		"seq": func(params ...int) (string, error) {
			if len(params) > 0 && steps(seqBounds(params)) > limit/2 {
				return "", tooBig("seq")
			}
			return seqFn(params...), nil
		},
	}
}

// texts bounds the string helpers whose output grows with a count or a separator, and
// refuses DSA key generation (seconds to minutes in one call no deadline can interrupt).
func texts(f template.FuncMap, limit int, tooBig func(string) error) template.FuncMap {
	indentFn := f["indent"].(func(int, string) string)
	nindentFn := f["nindent"].(func(int, string) string)
	joinFn := f["join"].(func(string, any) string)
	genKeyFn := f["genPrivateKey"].(func(string) string)
	indented := func(name string, fn func(int, string) string) func(int, string) (string, error) {
		return func(spaces int, v string) (string, error) {
			if spaces < 0 || product(spaces, strings.Count(v, "\n")+1)+len(v) > limit {
				return "", tooBig(name)
			}
			return fn(spaces, v), nil
		}
	}
	return template.FuncMap{
		"indent":  indented("indent", indentFn),
		"nindent": indented("nindent", nindentFn),
		"replace": func(old, new, src string) (string, error) {
			n := len(src) + 1
			if old != "" {
				n = strings.Count(src, old)
			}
			if product(n, len(new))+len(src) > limit {
				return "", tooBig("replace")
			}
			return strings.ReplaceAll(src, old, new), nil
		},
		"join": func(sep string, v any) (string, error) {
			if product(length(v), len(sep)) > limit {
				return "", tooBig("join")
			}
			return joinFn(sep, v), nil
		},
		"genPrivateKey": func(typ string) (string, error) {
			if typ == "dsa" {
				return "", Reason("dsa keys are not supported; use rsa, ecdsa or ed25519")
			}
			return genKeyFn(typ), nil
		},
	}
}

// boundedCount refuses a count over the limit for the random-string helpers.
func boundedCount(name string, fn any, limit int, tooBig func(string) error) any {
	fv := reflect.ValueOf(fn)
	return func(count int) (string, error) {
		if count > limit {
			return "", tooBig(name)
		}
		out := fv.Call([]reflect.Value{reflect.ValueOf(count)})
		if len(out) == 2 && !out[1].IsNil() {
			return "", out[1].Interface().(error)
		}
		return out[0].String(), nil
	}
}

// boundedWrap refuses a wrap that would insert more than the limit: wrap inserts a newline,
// wrapWith its separator, about every width characters.
func boundedWrap(name string, fn any, limit int, tooBig func(string) error) any {
	if name == "wrap" {
		wrapFn := fn.(func(int, string) string)
		return func(width int, s string) (string, error) {
			if width < 1 || len(s)/width+len(s) > limit {
				return "", tooBig(name)
			}
			return wrapFn(width, s), nil
		}
	}
	wrapWithFn := fn.(func(int, string, string) string)
	return func(width int, sep, s string) (string, error) {
		if width < 1 || product(len(s)/width+1, len(sep))+len(s) > limit {
			return "", tooBig(name)
		}
		return wrapWithFn(width, sep, s), nil
	}
}

// quadratic bounds the list helpers that compare every element with every other.
func quadratic(f template.FuncMap, tooBig func(string) error) template.FuncMap {
	uniqFn := f["mustUniq"].(func(any) ([]any, error))
	withoutFn := f["mustWithout"].(func(any, ...any) ([]any, error))
	uniq := func(name string) func(any) ([]any, error) {
		return func(list any) ([]any, error) {
			if n := length(list); product(n, n) > maxQuadratic {
				return nil, tooBig(name)
			}
			return uniqFn(list)
		}
	}
	without := func(name string) func(any, ...any) ([]any, error) {
		return func(list any, omit ...any) ([]any, error) {
			if product(length(list), len(omit)) > maxQuadratic {
				return nil, tooBig(name)
			}
			return withoutFn(list, omit...)
		}
	}
	return template.FuncMap{"uniq": uniq("uniq"), "mustUniq": uniq("mustUniq"), "without": without("without"),
		"mustWithout": without("mustWithout")}
}

// regexps bounds the regexp helpers: Go's regexps run in linear time, but the factor
// grows with the pattern, so the pattern's length times the input's is capped.
func regexps(f template.FuncMap, limit int, tooBig func(string) error) template.FuncMap {
	out := template.FuncMap{}
	// The replace helpers insert their replacement at every match: their result is bounded
	// before it is built, and they are then checked like the other regexp helpers.
	fns := template.FuncMap{}
	for name, fn := range f {
		fns[name] = fn
	}
	for name, fn := range boundedReplaces(limit, tooBig) {
		fns[name] = fn
	}
	for name, fn := range fns {
		if !strings.HasPrefix(name, "regex") && !strings.HasPrefix(name, "mustRegex") || name == "regexQuoteMeta" {
			continue
		}
		out[name] = guarded(fn, func(args []reflect.Value) error {
			if len(args) < 2 || args[0].Kind() != reflect.String || args[1].Kind() != reflect.String {
				return nil
			}
			p, s := args[0].Len(), args[1].Len()
			if p > maxRegexp || product(p, s+1) > maxRegexpCost {
				return limitf(
					"function %s: a pattern of %d bytes over %d bytes of input exceeds the regexp limit (pattern at most %d "+
						"bytes, pattern × input at most %d)", name, p, s, maxRegexp, maxRegexpCost)
			}
			return nil
		})
	}
	return out
}

// guarded wraps fn with a check that runs before every call; a failed check is raised as a
// panic, which text/template turns into the call's error.
func guarded(fn any, check func([]reflect.Value) error) any {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		if err := check(args); err != nil {
			panic(err)
		}
		if ft.IsVariadic() {
			return fv.CallSlice(args)
		}
		return fv.Call(args)
	}).Interface()
}

// boundedPrintf is fmt.Sprintf that first adds up what the format asks for: each verb's
// width and precision (fmt allows up to a million each) plus the size of the argument it
// prints (explicit indexes let one argument be printed many times).
func boundedPrintf(limit int, format string, args []any) (string, error) {
	largest := 0
	for _, a := range args {
		n, _ := sizeOf(reflect.ValueOf(a), limit)
		largest = max(largest, n)
	}
	total := len(format)
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		num := 0
		for i < len(format) && strings.IndexByte("0123456789[].*", format[i]) >= 0 {
			if format[i] == '*' {
				return "", fmt.Errorf("printf: widths from arguments (*) are not supported")
			}
			if d := format[i]; d >= '0' && d <= '9' {
				num = num*10 + int(d-'0')
				if num > limit {
					num = limit + 1
				}
			} else {
				total += num
				num = 0
			}
			i++
		}
		total += num + largest
		if total > limit {
			return "", limitf("function printf: the result would exceed the template value limit of %d bytes (1 MiB)", limit)
		}
	}
	return fmt.Sprintf(format, args...), nil
}

// steps is how many values untilStep(start, stop, step) produces (at most the limit + 1).
func steps(start, stop, step int) int {
	if step == 0 || (step > 0 && stop <= start) || (step < 0 && stop >= start) {
		return 0
	}
	n := math.Abs(float64(stop)-float64(start)) / math.Abs(float64(step))
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n) + 1
}

// seqBounds turns seq's parameters (last | first last | first step last) into
// untilStep's.
func seqBounds(p []int) (start, stop, step int) {
	switch len(p) {
	case 1:
		return 1, p[0], 1 - 2*boolInt(p[0] < 1)
	case 2:
		return p[0], p[1], 1 - 2*boolInt(p[1] < p[0])
	case 3:
		return p[0], p[2], p[1]
	}
	return 0, 0, 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// product is a*b, saturating instead of overflowing.
func product(a, b int) int {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt32/b {
		return math.MaxInt32
	}
	return a * b
}

// length is the number of elements of a list (0 for anything else).
func length(v any) int {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return rv.Len()
	}
	return 0
}
