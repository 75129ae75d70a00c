package outcome

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestResult(t *testing.T) {
	base := errors.New("boom")
	if res, err := Result(Terminal("Bad", base)); !errors.Is(err, reconcile.TerminalError(nil)) || !errors.Is(err, base) || res.RequeueAfter != 0 {
		t.Errorf("terminal: %v, %v; want a reconcile.TerminalError wrapping the cause, no requeue", res, err)
	}
	// The status patch's error is joined to the pass's: the result stays terminal.
	if _, err := Result(Terminal("Bad", base)); !errors.Is(errors.Join(err, nil), reconcile.TerminalError(nil)) {
		t.Errorf("a joined terminal error is no longer terminal")
	}
	if res, err := Result(Waiting("Wait", base, time.Minute)); err != nil || res.RequeueAfter != time.Minute {
		t.Errorf("waiting: %v, %v; want requeue after 1m", res, err)
	}
	if _, err := Result(fmt.Errorf("wrapped: %w", Transient("T", base))); !errors.Is(err, base) {
		t.Errorf("transient: %v; want the error returned for backoff", err)
	}
	if _, err := Result(base); err != base {
		t.Errorf("plain error: %v; want it returned", err)
	}
	if got := Reason(fmt.Errorf("x: %w", Terminal("Bad", base)), "Default"); got != "Bad" {
		t.Errorf("Reason through wrapping = %q", got)
	}
	if got := Reason(base, "Default"); got != "Default" {
		t.Errorf("Reason of a plain error = %q", got)
	}
}
