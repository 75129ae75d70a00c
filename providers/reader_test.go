package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// sizedClient returns values of a given size for any key, and finds n of them.
type sizedClient struct {
	size, n int
	calls   atomic.Int32
}

func (c *sizedClient) GetSecret(_ context.Context, ref Ref) ([]byte, error) {
	c.calls.Add(1)
	return make([]byte, c.size), nil
}

func (c *sizedClient) Validate(context.Context) error { return nil }

func (c *sizedClient) Find(context.Context, FindRef) (map[string][]byte, error) {
	out := map[string][]byte{}
	for i := range c.n {
		out[fmt.Sprintf("s%d", i)] = make([]byte, c.size)
	}
	return out, nil
}

// Remembered values expire for a provider that does not batch too, and a store read with
// ever new keys keeps a bounded number of them.
func TestReader_RememberedValuesExpireAndAreBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &sizedClient{size: 1024}
	r := NewReader(c, ReaderOptions{Now: func() time.Time { return now }, RememberFor: 10 * time.Minute, MaxRemembered: 100})
	ctx := WithReadPolicy(context.Background(), ReadPolicy{Interval: time.Hour})
	for i := range 1000 {
		if _, err := r.GetSecret(ctx, Ref{Key: fmt.Sprintf("k%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := r.Remembered(); n > 100 {
		t.Errorf("the Reader remembers %d values, more than its bound of 100", n)
	}
	now = now.Add(11 * time.Minute)
	if _, err := r.GetSecret(ctx, Ref{Key: "fresh"}); err != nil { // a read sweeps
		t.Fatal(err)
	}
	if n, b := r.Remembered(); n != 1 || b != 1024 {
		t.Errorf("after the TTL the Reader remembers %d values (%d bytes), want only the fresh one", n, b)
	}
	// An expired value is not served even to a caller that would accept it.
	calls := c.calls.Load()
	old := WithReadPolicy(context.Background(), ReadPolicy{Since: now.Add(-time.Hour), Interval: time.Hour})
	if _, err := r.GetSecret(old, Ref{Key: "k999"}); err != nil {
		t.Fatal(err)
	}
	if c.calls.Load() != calls+1 {
		t.Error("an expired value was served instead of a backend read")
	}
}

// A value or find larger than the limits is refused with an error that names the limit,
// and is not remembered.
func TestReader_RefusesValuesAndFindsPastTheLimits(t *testing.T) {
	r := NewReader(&sizedClient{size: MaxValueBytes + 1}, ReaderOptions{})
	_, err := r.GetSecret(context.Background(), Ref{Key: "huge"})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "8 MiB") {
		t.Errorf("GetSecret of an oversized value = %v, want a limit error naming 8 MiB", err)
	}
	if n, _ := r.Remembered(); n != 0 {
		t.Error("an oversized value was remembered")
	}
	for _, c := range []*sizedClient{{size: 1, n: MaxFindResults + 1}, {size: 64 << 10, n: MaxFindBytes/(64<<10) + 1}} {
		_, err := NewReader(c, ReaderOptions{}).Find(context.Background(), FindRef{})
		if !errors.Is(err, ErrLimit) {
			t.Errorf("Find of %d values of %d bytes = %v, want a limit error", c.n, c.size, err)
		}
	}
	if _, err := NewReader(&sizedClient{size: 1, n: MaxFindResults}, ReaderOptions{}).Find(context.Background(), FindRef{}); err != nil {
		t.Errorf("a find of exactly %d secrets was refused: %v", MaxFindResults, err)
	}
}

// A store nobody reads any more lets go of its values too.
func TestReader_ValuesExpireWithoutFurtherReads(t *testing.T) {
	r := NewReader(&sizedClient{size: 512}, ReaderOptions{RememberFor: 20 * time.Millisecond})
	if _, err := r.GetSecret(context.Background(), Ref{Key: "idle"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.Remembered(); n != 1 {
		t.Fatalf("the value read was not remembered (%d values)", n)
	}
	waitFor(t, func() bool { n, _ := r.Remembered(); return n == 0 }, "an idle store's value never expired")
}
