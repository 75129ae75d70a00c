package manager

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// syncedInformer is an informer whose sync is a channel the test closes.
type syncedInformer struct {
	cache.Informer
	synced  chan struct{}
	stopped bool
}

func (i *syncedInformer) IsStopped() bool { return i.stopped }

func (i *syncedInformer) HasSyncedChecker() toolscache.DoneChecker { return i }
func (i *syncedInformer) Name() string                             { return "test informer" }
func (i *syncedInformer) Done() <-chan struct{}                    { return i.synced }

// innerCache hands out one informer and counts the times it is asked whether it synced.
type innerCache struct {
	cache.Cache
	informer *syncedInformer
	asked    int
}

func (c *innerCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return c.informer, nil
}

func (c *innerCache) WaitForCacheSync(context.Context) bool {
	c.asked++
	return true
}

func newPromptCache(t *testing.T) (cache.Cache, *innerCache) {
	t.Helper()
	inner := &innerCache{informer: &syncedInformer{synced: make(chan struct{})}}
	c, err := promptly(func(*rest.Config, cache.Options) (cache.Cache, error) { return inner, nil })(nil, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, inner
}

// The wait ends when the informers asked for have synced (their channel), not at a poll,
// and only then asks the cache itself; a context that ends first ends it with false.
func TestPromptCache_WaitsForTheInformersThenTheCache(t *testing.T) {
	ctx := context.Background()
	c, inner := newPromptCache(t)
	for range 2 { // asked twice (two watches of one kind): one informer to wait for
		if _, err := c.GetInformer(ctx, &esv1.ExternalSecret{}, cache.BlockUntilSynced(false)); err != nil {
			t.Fatal(err)
		}
	}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	if c.WaitForCacheSync(ended) {
		t.Fatal("WaitForCacheSync reported synced before the informer had synced")
	}
	if inner.asked != 0 {
		t.Fatalf("the cache was asked %d times before the informer synced, want 0", inner.asked)
	}

	done := make(chan bool, 1)
	go func() { done <- c.WaitForCacheSync(ctx) }()
	select {
	case <-done:
		t.Fatal("WaitForCacheSync returned before the informer had synced")
	case <-time.After(50 * time.Millisecond):
	}
	close(inner.informer.synced)
	if !<-done {
		t.Fatal("WaitForCacheSync reported not synced after the informer synced")
	}
	if inner.asked != 1 {
		t.Fatalf("the cache was asked %d times, want once after the informer synced", inner.asked)
	}
}

// A stopped (removed) informer that never synced holds no later wait.
func TestPromptCache_StoppedInformerIsNotWaitedFor(t *testing.T) {
	ctx := context.Background()
	c, inner := newPromptCache(t)
	if _, err := c.GetInformer(ctx, &esv1.ExternalSecret{}); err != nil {
		t.Fatal(err)
	}
	inner.informer.stopped = true
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if !c.WaitForCacheSync(ended) {
		t.Fatal("WaitForCacheSync waited for an informer that was removed")
	}
}
