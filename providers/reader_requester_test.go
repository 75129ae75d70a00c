package providers

import (
	"context"
	"sync"
	"testing"
	"time"
)

// requesterBatcher records the requester of each batch call's context.
type requesterBatcher struct {
	mu    sync.Mutex
	calls []string
}

func (*requesterBatcher) GetSecret(context.Context, Ref) ([]byte, error) { return []byte("v"), nil }
func (*requesterBatcher) Validate(context.Context) error                 { return nil }
func (*requesterBatcher) BatchLimit() int                                { return 20 }
func (*requesterBatcher) CanBatch(Ref) bool                              { return true }

func (b *requesterBatcher) GetSecrets(ctx context.Context, refs []Ref) (map[Ref][]byte, map[Ref]error, error) {
	r, _ := RequesterFrom(ctx)
	b.mu.Lock()
	b.calls = append(b.calls, r.Namespace+"/"+r.Name)
	b.mu.Unlock()
	values := map[Ref][]byte{}
	for _, ref := range refs {
		values[ref] = []byte("v")
	}
	return values, nil, nil
}

// readTogether reads one ref per context concurrently, so that they share one batch.
func readTogether(t *testing.T, r *Reader, ctxs ...context.Context) {
	t.Helper()
	var wg sync.WaitGroup
	for i, ctx := range ctxs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.GetSecret(ctx, Ref{Key: string(rune('a' + i))}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// A batch call names the ExternalSecret only when every ref in it is read for that one.
func TestReader_BatchNamesItsOnlyExternalSecret(t *testing.T) {
	es := func(name string) context.Context { return WithRequester(context.Background(), "team-a", name) }
	for _, tc := range []struct {
		name string
		ctxs []context.Context
		want string
	}{
		{"one ExternalSecret", []context.Context{es("db"), es("db")}, "team-a/db"},
		{"two ExternalSecrets", []context.Context{es("db"), es("api")}, "/"},
		{"one for none", []context.Context{es("db"), context.Background()}, "/"},
	} {
		b := &requesterBatcher{}
		// A long window: the batch leaves when the test flushes it, with both refs in it.
		r := NewReader(b, ReaderOptions{BatchWindow: time.Hour})
		done := make(chan struct{})
		go func() { readTogether(t, r, tc.ctxs...); close(done) }()
		waitPending(t, r, len(tc.ctxs))
		r.mu.Lock()
		p := r.pending
		r.mu.Unlock()
		r.flush(p)
		<-done
		if len(b.calls) != 1 || b.calls[0] != tc.want {
			t.Errorf("%s: batch calls made for %q, want one for %q", tc.name, b.calls, tc.want)
		}
	}
}

// waitPending waits until the pending batch holds n refs.
func waitPending(t *testing.T, r *Reader, n int) {
	t.Helper()
	for {
		r.mu.Lock()
		got := r.pending != nil && len(r.pending.refs) == n
		r.mu.Unlock()
		if got {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
