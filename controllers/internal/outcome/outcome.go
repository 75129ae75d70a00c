// Package outcome gives reconcilers three kinds of error, each carrying the condition reason
// it sets (after Flux's internal/error):
//
//   - Terminal: the configuration cannot work as written. The condition says why and the
//     object is not retried until it (or something it watches) changes
//     (controller-runtime's reconcile.TerminalError: logged and counted, not requeued).
//   - Waiting: a dependency is not ready yet. The object is looked at again after a delay,
//     without growing backoff.
//   - Transient: anything else (a backend or API hiccup). It is returned to controller-runtime,
//     which retries with exponential backoff.
package outcome

import (
	"errors"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Kind is the kind of an Error.
type Kind int

const (
	KindTransient Kind = iota
	KindTerminal
	KindWaiting
)

// Error is an error with the condition reason it sets and how it is retried.
type Error struct {
	Kind   Kind
	Reason string
	Err    error
	// After is the delay before a Waiting error is looked at again.
	After time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Terminal returns an error that sets reason and is not retried.
func Terminal(reason string, err error) error {
	return &Error{Kind: KindTerminal, Reason: reason, Err: err}
}

// Waiting returns an error that sets reason and is looked at again after the delay.
func Waiting(reason string, err error, after time.Duration) error {
	return &Error{Kind: KindWaiting, Reason: reason, Err: err, After: after}
}

// Transient returns an error that sets reason and is retried with backoff.
func Transient(reason string, err error) error {
	return &Error{Kind: KindTransient, Reason: reason, Err: err}
}

// Reason returns the reason an error sets, or fallback for a plain error.
func Reason(err error, fallback string) string {
	var e *Error
	if errors.As(err, &e) && e.Reason != "" {
		return e.Reason
	}
	return fallback
}

// Result turns the error of a pass into what controller-runtime expects: terminal errors
// become reconcile.TerminalError (no retry; the condition reports them, controller-runtime
// logs and counts them), waiting errors requeue after their delay, and everything else is
// returned for backoff.
func Result(err error) (ctrl.Result, error) {
	if err == nil {
		return ctrl.Result{}, nil
	}
	var e *Error
	if errors.As(err, &e) {
		switch e.Kind {
		case KindTerminal:
			return ctrl.Result{}, reconcile.TerminalError(err)
		case KindWaiting:
			return ctrl.Result{RequeueAfter: e.After}, nil
		}
	}
	return ctrl.Result{}, err
}

// MapMessage returns err with its message passed through f, keeping its kind, reason and
// delay (e.g. to redact a message). The result no longer wraps err.
func MapMessage(err error, f func(string) string) error {
	if err == nil {
		return nil
	}
	msg := errors.New(f(err.Error()))
	var e *Error
	if errors.As(err, &e) {
		return &Error{Kind: e.Kind, Reason: e.Reason, Err: msg, After: e.After}
	}
	return msg
}
