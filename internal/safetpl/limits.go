// Package safetpl runs tenant-written Go templates (ExternalSecret target.template,
// templateFrom, dataFrom rewrite.transform) within limits, so that one tenant's template can
// fail only its own ExternalSecret: a deadline, an output cap checked while writing, a cap
// on loop iterations and template calls, a cap on nested template calls, a cap on the size
// of every value a function takes or returns, and sprig's allocating helpers replaced by
// bounded ones. Functions that do I/O or read the controller's environment are gone.
//
// text/template has no context and no step limit, and a goroutine stuck in a tight loop
// cannot be stopped from outside. So the limits are enforced from inside the execution:
// every parsed template is rewritten so that each range iteration and each template call
// first calls a counting function that checks the step cap and the deadline, and every
// printed value passes through a function that checks its size before fmt formats it.
// Every function of the map checks the size of its arguments before it runs; the helpers
// whose output is a multiple of their input (repeat, until, indent, replace, printf
// widths, …) check the size they would produce before they allocate it; the slow ones
// (bcrypt, key generation) check the deadline before they start. Execution also runs in a
// goroutine whose result is abandoned at the deadline, as a last resort.
//
// Errors never quote the template's data: they are built from the template's line, the
// name of the function that failed and the limit that was hit.
package safetpl

import (
	"fmt"
	"time"
)

// Limits bound one render pass (all the templates of one ExternalSecret, or one rewrite).
type Limits struct {
	// Timeout is the deadline of the whole pass.
	Timeout time.Duration
	// MaxOutput is the number of bytes all templates of the pass may write together, and
	// the largest size of any value a template function takes or returns.
	MaxOutput int
	// MaxSteps is the number of range iterations and template calls of the pass.
	MaxSteps int
	// MaxDepth is how deeply {{ template }} calls may nest.
	MaxDepth int
	// MaxText is the largest template text parsed.
	MaxText int
}

// Default limits. MaxOutput is Kubernetes' limit on a Secret's values: a template that
// writes more could never be stored.
const (
	DefaultTimeout   = 2 * time.Second
	DefaultMaxOutput = 1 << 20
	DefaultMaxSteps  = 100_000
	DefaultMaxDepth  = 100
	DefaultMaxText   = 1 << 20
	// maxValueDepth bounds how deeply a value may nest (JSON documents, lists of lists):
	// the cost of printing a value grows with its depth.
	maxValueDepth = 100
	// maxActionBytes bounds the bytes inside a template's actions: parsing a megabyte of
	// actions ({{ list 1 1 1 … }}, {{1}}{{1}}…) allocates over 100 MB before anything runs.
	maxActionBytes = 64 << 10
	// maxRegexpCost bounds len(pattern) × len(input) of a regexp function: Go's regexps
	// run in time linear in the input, but with a factor that grows with the pattern.
	maxRegexpCost = 1 << 26
	maxRegexp     = 4096
	// maxQuadratic bounds n × m for the list helpers that compare every element with
	// every other (uniq, without).
	maxQuadratic = 1 << 24
)

// Defaults returns the default limits.
func Defaults() Limits {
	return Limits{Timeout: DefaultTimeout, MaxOutput: DefaultMaxOutput, MaxSteps: DefaultMaxSteps,
		MaxDepth: DefaultMaxDepth, MaxText: DefaultMaxText}
}

// Error is a template failure. Its message names the line, the function or the limit,
// never a value, so it may go into a condition, an event or a log line.
type Error struct {
	msg string
	// detail quotes the template text (the failing action, or the parser's complaint). It
	// holds no fetched data, but the template text itself may be secret when it comes from
	// a Secret, so callers add it only for templates from public places.
	detail string
	// Limit is set when the failure is a limit being hit.
	Limit bool
}

func (e *Error) Error() string { return e.msg }

// Detail is the part of the failure that quotes the template text ("" when there is none).
func (e *Error) Detail() string { return e.detail }

// limitError is raised (as a panic that text/template turns into an error, or returned)
// when a limit is hit.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

func limitf(format string, args ...any) *limitError {
	return &limitError{msg: fmt.Sprintf(format, args...)}
}

func (l Limits) deadlineError() *limitError {
	return limitf("exceeded the %s template deadline", l.Timeout)
}

func (l Limits) outputError() *limitError {
	return limitf("exceeded the template output limit of %d bytes (1 MiB, Kubernetes' limit on a Secret)", l.MaxOutput)
}

func (l Limits) valueError(fn string) *limitError {
	return limitf("function %s: a value over the template value limit of %d bytes (1 MiB) or nested deeper than %d levels",
		fn, l.MaxOutput, maxValueDepth)
}

// Reason is an error a template function returns whose message is built from constants
// only (never from its arguments): it is shown to the user as the function's reason.
type Reason string

func (r Reason) Error() string { return string(r) }
