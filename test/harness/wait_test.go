package harness

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitFor_RetriesErrorsAndReportsTheLast(t *testing.T) {
	var calls atomic.Int32
	err := WaitFor(context.Background(), 5*time.Second, func(context.Context) (bool, error) {
		if calls.Add(1) < 3 {
			return false, errors.New("not yet")
		}
		return true, nil
	})
	if err != nil || calls.Load() != 3 {
		t.Fatalf("WaitFor = %v after %d calls, want success on the third", err, calls.Load())
	}
	err = WaitFor(context.Background(), 300*time.Millisecond, func(context.Context) (bool, error) {
		return false, errors.New("still NotFound")
	})
	if err == nil || !strings.Contains(err.Error(), "still NotFound") {
		t.Errorf("WaitFor on a timeout = %v, want the last error in it", err)
	}
}

func TestHoldsFor_FailsWhenTheConditionBreaks(t *testing.T) {
	start := time.Now()
	if err := HoldsFor(context.Background(), 300*time.Millisecond, func(context.Context) (bool, error) { return true, nil }); err != nil {
		t.Fatalf("HoldsFor on a condition that holds: %v", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("HoldsFor returned after %s, before its 300ms window ended", took)
	}
	var calls atomic.Int32
	err := HoldsFor(context.Background(), 5*time.Second, func(context.Context) (bool, error) { return calls.Add(1) < 3, nil })
	if err == nil || calls.Load() != 3 {
		t.Errorf("HoldsFor = %v after %d calls, want a failure on the third", err, calls.Load())
	}
	err = HoldsFor(context.Background(), 5*time.Second, func(context.Context) (bool, error) { return false, errors.New("read failed") })
	if err == nil || !strings.Contains(err.Error(), "read failed") {
		t.Errorf("HoldsFor on an error = %v, want the error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := HoldsFor(ctx, time.Second, func(context.Context) (bool, error) { return true, nil }); err == nil {
		t.Errorf("HoldsFor with a canceled context passed; the window was not watched")
	}
}

// A count that stops changing is a pause; one that changes every second never is.
func TestWaitForPause(t *testing.T) {
	start := time.Now()
	burst := func() float64 { return math.Min(time.Since(start).Seconds(), 2) } // grows for 2 s
	if !WaitForPause(burst, 2*time.Second, 10*time.Second) {
		t.Error("a count that stopped after 2 s was not seen to pause within 10 s")
	}
	steady := func() float64 { return math.Floor(time.Since(start).Seconds() * 2) } // never pauses
	if WaitForPause(steady, 2*time.Second, 3*time.Second) {
		t.Error("a count that changes twice a second was seen to pause")
	}
}
