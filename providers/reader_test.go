package providers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// countingClient counts the calls; reads block until release is closed.
type countingClient struct {
	calls   atomic.Int32
	release chan struct{}
}

func (c *countingClient) GetSecret(_ context.Context, ref Ref) ([]byte, error) {
	c.calls.Add(1)
	<-c.release
	return []byte("value of " + ref.Key), nil
}

func (c *countingClient) Validate(context.Context) error { return nil }

func TestReader_RecentValuesServePeriodicRefreshesOnly(t *testing.T) {
	c := &countingClient{release: make(chan struct{})}
	close(c.release)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewReader(c, ReaderOptions{Now: func() time.Time { return now }})
	periodic := func() context.Context {
		// A refresh due now, with a 3-minute window.
		return WithReadPolicy(context.Background(), ReadPolicy{Since: now.Add(-3 * time.Minute), Interval: time.Hour, Window: 3 * time.Minute})
	}
	read := func(ctx context.Context) {
		t.Helper()
		if _, err := r.GetSecret(ctx, Ref{Key: "db"}); err != nil {
			t.Fatal(err)
		}
	}
	read(context.Background()) // first sync: a backend call
	now = now.Add(2 * time.Minute)
	read(periodic()) // another ExternalSecret's refresh within the window: no call
	if n := c.calls.Load(); n != 1 {
		t.Fatalf("a periodic refresh within the window made a call (%d calls)", n)
	}
	read(context.Background()) // a forced sync reads fresh
	now = now.Add(4 * time.Minute)
	read(periodic()) // outside the window: a call
	if n := c.calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3 (first sync, forced sync, refresh after the window)", n)
	}
}

func TestReader_RateLimitWaitsAndGivesUpWithTheContext(t *testing.T) {
	c := &countingClient{release: make(chan struct{})}
	close(c.release)
	r := NewReader(c, ReaderOptions{QPS: 0.001, Burst: 1})
	if _, err := r.GetSecret(context.Background(), Ref{Key: "a"}); err != nil {
		t.Fatal(err) // the burst
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := r.GetSecret(ctx, Ref{Key: "b"}); err == nil {
		t.Fatal("a read beyond the store's rate was not held back")
	}
	if n := c.calls.Load(); n != 1 {
		t.Errorf("%d backend calls, want 1", n)
	}
}
