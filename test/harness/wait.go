package harness

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// PollInterval is how often the waits of this package look again.
const PollInterval = 100 * time.Millisecond

// WaitFor polls cond every PollInterval until it returns true or the timeout passes
// (wait.PollUntilContextTimeout). An error from cond does not end the wait: the state may be
// eventually consistent (a NotFound before the object is created), so the wait goes on and
// the last error is reported with the timeout. It is for waiting on state, never for
// asserting speed.
func WaitFor(ctx context.Context, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, PollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			lastErr = err
		}
		return ok, nil
	})
	switch {
	case err == nil:
		return nil
	case lastErr != nil:
		return fmt.Errorf("timed out after %s; last error: %w", timeout, lastErr)
	default:
		return fmt.Errorf("timed out after %s", timeout)
	}
}

// HoldsFor checks that cond stays true for the whole window, looking every PollInterval: it
// returns an error the first time cond is false or fails. It is the "nothing happens"
// assertion: call it only after a positive signal that the controller has seen the change
// (a new status, an event, a reconcile count), so that the window only has to cover what
// the controller might still do after that signal, never the time it takes to notice.
func HoldsFor(ctx context.Context, window time.Duration, cond func(context.Context) (bool, error)) error {
	// cond reads with ctx, not with the window's deadline: a read cut short by the end of
	// the window is not a failure.
	err := wait.PollUntilContextTimeout(ctx, PollInterval, window, true, func(context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, errChanged
		}
		return false, nil
	})
	switch {
	case wait.Interrupted(err) && ctx.Err() == nil:
		return nil // the window passed with cond true throughout
	case err == errChanged:
		return fmt.Errorf("the condition stopped holding within the %s window", window)
	default:
		return err
	}
}

var errChanged = fmt.Errorf("condition no longer holds")

// WaitForPause waits until count has not changed for quiet, looking every second, for at
// most within; it reports whether such a pause came. The benchmarks count a controller's
// backend calls per refresh cycle from the pause after a cycle's burst, so that whole
// intervals hold whole bursts.
func WaitForPause(count func() float64, quiet, within time.Duration) bool {
	deadline := time.Now().Add(within)
	last, since := count(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		if now := count(); now != last {
			last, since = now, time.Now()
		} else if time.Since(since) >= quiet {
			return true
		}
	}
	return false
}
