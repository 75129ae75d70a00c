package safetpl

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"text/template"
	"time"
)

// Engine parses and runs templates within its limits. Its function map is built once and
// shared by every render; an Engine is safe for concurrent use.
type Engine struct {
	limits Limits
	funcs  template.FuncMap
}

// New returns an Engine with the given limits; extra adds functions to sprig's (ESO's PEM
// and PKCS#12 helpers).
func New(l Limits, extra template.FuncMap) *Engine {
	return &Engine{limits: l, funcs: buildFuncs(l, extra)}
}

// Limits returns the engine's limits.
func (e *Engine) Limits() Limits { return e.limits }

// Budget is what one render pass may spend: its deadline, output bytes and steps are shared
// by all the templates it renders.
type Budget struct {
	ctx      context.Context
	limits   Limits
	deadline time.Time
	steps    atomic.Int64
	written  atomic.Int64
}

// Budget starts a render pass. ctx cancels it early.
func (e *Engine) Budget(ctx context.Context) *Budget {
	return &Budget{ctx: ctx, limits: e.limits, deadline: time.Now().Add(e.limits.Timeout)}
}

// check fails when the deadline has passed or the pass was cancelled.
func (b *Budget) check() error {
	if time.Now().After(b.deadline) {
		return b.limits.deadlineError()
	}
	if b.ctx.Err() != nil {
		return limitf("the sync was cancelled")
	}
	return nil
}

// step counts one range iteration or template call.
func (b *Budget) step() error {
	if b.steps.Add(1) > int64(b.limits.MaxSteps) {
		return limitf("exceeded the limit of %d range iterations and template calls", b.limits.MaxSteps)
	}
	return b.check()
}

// Render parses text and executes it over data within the budget. Errors are *Error.
func (e *Engine) Render(b *Budget, text string, data any) (string, error) {
	if len(text) > e.limits.MaxText {
		return "", &Error{msg: fmt.Sprintf("the template text is %d bytes, over the limit of %d", len(text),
			e.limits.MaxText), Limit: true}
	}
	if n := actionBytes(text); n > maxActionBytes {
		msg := fmt.Sprintf("the template's actions ({{ … }}) total %d bytes, over the limit of %d: "+
			"keep long literal text outside the actions", n, maxActionBytes)
		return "", &Error{msg: msg, Limit: true}
	}
	t, err := template.New("t").Option("missingkey=error").Funcs(e.funcs).Parse(text)
	if err != nil {
		return "", parseError(err)
	}
	instrument(t)
	// The control functions are added after parsing, so a template cannot call them.
	t.Funcs(e.control(b))
	w := &capWriter{b: b}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v", reflect.TypeOf(r))
			}
		}()
		done <- t.Execute(w, data)
	}()
	timer := time.NewTimer(time.Until(b.deadline))
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return "", execError(err, text)
		}
		return w.buf.String(), nil
	case <-timer.C:
		// The goroutine stops at its next step, call or write (each checks the deadline).
		return "", &Error{msg: b.limits.deadlineError().Error(), Limit: true}
	case <-b.ctx.Done():
		return "", &Error{msg: "the sync was cancelled"}
	}
}

// control returns the functions the instrumented tree calls, and the slow functions
// wrapped with a deadline check, for one execution.
func (e *Engine) control(b *Budget) template.FuncMap {
	depth := 0
	f := template.FuncMap{
		stepFunc: func() (string, error) { return "", b.step() },
		enterFunc: func() (string, error) {
			if depth++; depth > b.limits.MaxDepth {
				return "", limitf("template calls nested deeper than the limit of %d", b.limits.MaxDepth)
			}
			return "", b.step()
		},
		leaveFunc: func() string { depth--; return "" },
		outFunc: func(v any) (string, error) {
			if v == nil {
				return "<no value>", nil
			}
			if _, ok := sizeOf(reflect.ValueOf(v), b.limits.MaxOutput); !ok {
				return "", b.limits.outputError()
			}
			return fmt.Sprint(v), nil
		},
	}
	for _, name := range slow {
		if fn, ok := e.funcs[name]; ok {
			f[name] = throttled(fn, b)
		}
	}
	return f
}

// slowCalls admits at most this many calls of the slow functions at once in the whole
// process: derivePassword's scrypt takes 32 MiB per call and RSA key generation a core for
// up to a second, so many templates calling them at once would grow the process with the
// number of ExternalSecrets rather than stay at its steady size.
var slowCalls = make(chan struct{}, 2)

// throttled wraps a slow function: each call checks the pass's deadline, then waits for a
// slot among slowCalls until that deadline.
func throttled(fn any, b *Budget) any {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		if err := b.check(); err != nil {
			panic(err)
		}
		timer := time.NewTimer(time.Until(b.deadline))
		defer timer.Stop()
		select {
		case slowCalls <- struct{}{}:
		case <-timer.C:
			panic(b.limits.deadlineError())
		case <-b.ctx.Done():
			panic(limitf("the sync was cancelled"))
		}
		defer func() { <-slowCalls }()
		if ft.IsVariadic() {
			return fv.CallSlice(args)
		}
		return fv.Call(args)
	}).Interface()
}

// capWriter collects a template's output and fails a write that would take the pass over
// its output limit or past its deadline: an empty loop writes nothing, but every write of
// a long one is checked.
type capWriter struct {
	b   *Budget
	buf strings.Builder
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.b.written.Add(int64(len(p))) > int64(w.b.limits.MaxOutput) {
		return 0, w.b.limits.outputError()
	}
	if err := w.b.check(); err != nil {
		return 0, err
	}
	return w.buf.Write(p)
}

var (
	lineRe     = regexp.MustCompile(`^template: t:(\d+)(?::(\d+))?: `)
	undefRe    = regexp.MustCompile(`function "([A-Za-z0-9_]+)" not defined`)
	callRe     = regexp.MustCompile(`error calling ([A-Za-z0-9_]+): `)
	missingRe  = regexp.MustCompile(`map has no entry for key "([^"]*)"`)
	atRe       = regexp.MustCompile(`executing "[^"]*" at <(.*?)>: `)
	parseMsgRe = regexp.MustCompile(`^template: t:\d+: (.*)$`)
)

// parseError maps a parse error to a message that names its line; the parser's own words
// (which quote the template text) go into Detail.
func parseError(err error) *Error {
	msg := err.Error()
	where := "does not parse"
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		where += " (line " + m[1] + ")"
	}
	if m := undefRe.FindStringSubmatch(msg); m != nil {
		where += fmt.Sprintf(": function %q not defined", m[1])
	}
	e := &Error{msg: where}
	if m := parseMsgRe.FindStringSubmatch(msg); m != nil {
		e.detail = truncate(m[1], 200)
	}
	return e
}

// execError maps an execution error to a message built from the line, the failing
// function's name and the limit hit. Function errors quote their arguments (fail,
// atoi, fromJson, …), so their text is never used.
func execError(err error, text string) *Error {
	var lim *limitError
	var reason Reason
	msg := err.Error()
	where := "failed"
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		where += " at line " + m[1]
	}
	e := &Error{}
	if m := atRe.FindStringSubmatch(msg); m != nil && !strings.Contains(m[1], "_vigil") {
		e.detail = "at <" + truncate(m[1], 200) + ">"
	}
	switch {
	case errors.As(err, &lim):
		e.msg, e.Limit = where+": "+lim.msg, true
	case errors.As(err, &reason) && callRe.MatchString(msg):
		e.msg = fmt.Sprintf("%s: function %s: %s", where, callRe.FindStringSubmatch(msg)[1], reason)
	case callRe.MatchString(msg):
		e.msg = fmt.Sprintf("%s: function %s returned an error", where, callRe.FindStringSubmatch(msg)[1])
	case missingRe.MatchString(msg) && strings.Contains(text, missingRe.FindStringSubmatch(msg)[1]):
		// The key is named only when the template spells it out: then it is the
		// template's word, not the data's.
		e.msg = fmt.Sprintf("%s: the data has no key %q", where, missingRe.FindStringSubmatch(msg)[1])
	default:
		e.msg = where + ": " + execKind(msg)
	}
	return e
}

// execKind names the kind of a text/template execution error from a fixed list.
func execKind(msg string) string {
	for _, k := range []struct{ says, kind string }{
		{"map has no entry for key", "a key the template reads is missing from the data"},
		{"wrong type", "a value has the wrong type"},
		{"wrong number of args", "a function has the wrong number of arguments"},
		{"can't evaluate field", "a field does not exist"},
		{"nil pointer", "a value is empty"},
		{"index out of range", "an index is out of range"},
		{"can't iterate over", "range over a value that is not a list, map or number"},
		{"not defined", "a template it calls is not defined"},
		{"incompatible types", "a comparison of incompatible types"},
	} {
		if strings.Contains(msg, k.says) {
			return k.kind
		}
	}
	return "execution error"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// actionBytes is the number of bytes inside the template's actions ({{ … }}, or up to the
// end of the text after an unclosed {{). Parsing costs about a hundred times those bytes
// (a node per argument and per action, counted as 8 bytes each), while literal text
// between actions costs little.
func actionBytes(text string) int {
	n := 0
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			return n
		}
		text = text[i+2:]
		j := strings.Index(text, "}}")
		if j < 0 {
			return n + len(text)
		}
		n += j + 8 // an action costs more than its bytes: a node and its pipeline
		text = text[j+2:]
	}
}
