package providers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// bigProvider serves values of a fixed size under the name "fake"; invalid stores (no
// fake spec) are refused by ValidateStore.
type bigProvider struct {
	size   int
	builds atomic.Int32
	closed atomic.Int32
	// block, when set, holds NewClient until it is closed.
	block chan struct{}
}

func (*bigProvider) Name() string { return "fake" }

func (*bigProvider) ValidateStore(store esv1.GenericStore) error {
	if store.GetSpec().Provider.Fake.Data == nil {
		return Configf("spec.provider.fake.data is empty")
	}
	return nil
}

func (p *bigProvider) NewClient(context.Context, esv1.GenericStore, client.Client, string) (Client, error) {
	p.builds.Add(1)
	if p.block != nil {
		<-p.block
	}
	return &bigClient{p: p}, nil
}

type bigClient struct{ p *bigProvider }

func (c *bigClient) GetSecret(_ context.Context, ref Ref) ([]byte, error) {
	return bytes.Repeat([]byte(ref.Key[:1]), c.p.size), nil
}
func (c *bigClient) Validate(context.Context) error { return nil }
func (c *bigClient) Close()                         { c.p.closed.Add(1) }

func fakeStore(uid string) *esv1.SecretStore {
	return &esv1.SecretStore{
		TypeMeta:   metav1.TypeMeta{Kind: esv1.SecretStoreKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "store", UID: types.UID(uid), Generation: 1},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{
			Data: []esv1.FakeProviderData{{Key: "k", Value: "v"}},
		}}},
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A deleted store leaves nothing in the cache: no client, no credentials, no remembered
// value. The heap figures are logged for docs/security.md.
func TestClientCache_ForgetReleasesADeletedStore(t *testing.T) {
	const values, size = 200, 64 << 10 // 12.5 MiB of remembered values
	p := &bigProvider{size: size}
	c := NewClientCache(NewRegistry(p), nil, time.Hour, ReaderOptions{})
	store := fakeStore("deleted-store")
	other := fakeStore("other-store")
	ctx := context.Background()
	base := heapInUse()
	for _, s := range []*esv1.SecretStore{store, other} {
		r, err := c.Get(ctx, s, "team")
		if err != nil {
			t.Fatal(err)
		}
		for i := range values {
			if _, err := r.GetSecret(ctx, Ref{Key: fmt.Sprintf("%c-%d", 'a'+i%26, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	reader, _ := c.Get(ctx, store, "team")
	if n, b := reader.Remembered(); n != values || b != values*size {
		t.Fatalf("the Reader remembers %d values (%d bytes), want %d (%d)", n, b, values, values*size)
	}
	full := heapInUse()

	c.Forget(store.UID)
	if c.Holds(store.UID) {
		t.Fatal("the cache still holds the deleted store")
	}
	if !c.Holds(other.UID) {
		t.Fatal("forgetting one store dropped another")
	}
	if n, b := reader.Remembered(); n != 0 || b != 0 {
		t.Errorf("the deleted store's Reader still remembers %d values (%d bytes)", n, b)
	}
	waitFor(t, func() bool { return p.closed.Load() == 1 }, "the deleted store's client was not closed")
	reader = nil
	after := heapInUse()
	t.Logf("heap: %d KiB before any store, %d KiB with two stores of %d values of %d KiB, %d KiB after one was deleted",
		base>>10, full>>10, values, size>>10, after>>10)
	if freed := int64(full) - int64(after); freed < values*size*9/10 || freed > values*size*11/10 {
		t.Errorf("deleting the store freed %d bytes; its values were %d", freed, values*size)
	}
	runtime.KeepAlive(c) // the other store stays cached through the measurement
}

// A client being built while its store is deleted is used for that one read and not kept.
func TestClientCache_ClientBuiltDuringDeletionIsNotKept(t *testing.T) {
	p := &bigProvider{size: 1, block: make(chan struct{})}
	c := NewClientCache(NewRegistry(p), nil, time.Hour, ReaderOptions{})
	store := fakeStore("racing")
	done := make(chan error)
	go func() {
		_, err := c.Get(context.Background(), store, "team")
		done <- err
	}()
	waitFor(t, func() bool { return p.builds.Load() == 1 }, "no client was being built")
	c.Forget(store.UID)
	close(p.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c.Holds(store.UID) {
		t.Error("a client built for a deleted store was cached")
	}
}

// A store whose configuration cannot work gets no client, whatever its status says yet.
func TestClientCache_ValidatesTheStoreBeforeBuildingAClient(t *testing.T) {
	p := &bigProvider{size: 1}
	c := NewClientCache(NewRegistry(p), nil, time.Hour, ReaderOptions{})
	store := fakeStore("broken")
	store.Spec.Provider.Fake.Data = nil
	_, err := c.Get(context.Background(), store, "team")
	var cfg *ConfigError
	if !errors.As(err, &cfg) {
		t.Fatalf("Get = %v, want a ConfigError", err)
	}
	if p.builds.Load() != 0 {
		t.Error("a client was built for an invalid store")
	}
}

// A changed store's values go at once; the next read builds a client from the new spec.
func TestClientCache_ChangedStoreStartsOver(t *testing.T) {
	p := &bigProvider{size: 8}
	c := NewClientCache(NewRegistry(p), nil, time.Hour, ReaderOptions{})
	store := fakeStore("changing")
	ctx := context.Background()
	r, _ := c.Get(ctx, store, "team")
	if _, err := r.GetSecret(ctx, Ref{Key: "x"}); err != nil {
		t.Fatal(err)
	}
	c.Changed(store.UID)
	if n, _ := r.Remembered(); n != 0 || c.Holds(store.UID) {
		t.Errorf("a changed store's values stayed (%d values, cached %v)", n, c.Holds(store.UID))
	}
	store.Generation++
	if _, err := c.Get(ctx, store, "team"); err != nil || p.builds.Load() != 2 {
		t.Errorf("Get after the change = %v with %d builds, want a second build", err, p.builds.Load())
	}
}

// Concurrent reconciles renew and read the same entries (run with -race).
func TestClientCache_ConcurrentUse(t *testing.T) {
	p := &bigProvider{size: 4}
	c := NewClientCache(NewRegistry(p), nil, time.Nanosecond, ReaderOptions{}) // every Get renews
	stores := []*esv1.SecretStore{fakeStore("s1"), fakeStore("s2")}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for j := range 50 {
				s := stores[(i+j)%2]
				r, err := c.Get(ctx, s, "team")
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := r.GetSecret(ctx, Ref{Key: fmt.Sprintf("k%d", j%5)}); err != nil {
					t.Error(err)
					return
				}
				if j%17 == 0 {
					c.Changed(s.UID)
				}
			}
		}()
	}
	wg.Wait()
}

func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(time.Millisecond)
	}
}

// An entry nobody used for idleFor goes when another client is built.
func TestClientCache_DropsIdleEntries(t *testing.T) {
	p := &bigProvider{size: 8}
	c := NewClientCache(NewRegistry(p), nil, time.Hour, ReaderOptions{})
	now := time.Now()
	c.now = func() time.Time { return now }
	ctx := context.Background()
	idle, busy := fakeStore("idle"), fakeStore("busy")
	for _, s := range []*esv1.SecretStore{idle, busy} {
		if _, err := c.Get(ctx, s, "team"); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(idleFor - time.Minute)
	if _, err := c.Get(ctx, busy, "team"); err != nil { // still fresh: marks it used
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := c.Get(ctx, fakeStore("new"), "team"); err != nil {
		t.Fatal(err)
	}
	if c.Holds(idle.UID) || !c.Holds(busy.UID) {
		t.Errorf("after %s: idle store cached %v (want false), busy store cached %v (want true)", idleFor, c.Holds(idle.UID), c.Holds(busy.UID))
	}
}
