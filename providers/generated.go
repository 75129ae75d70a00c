package providers

import (
	"context"
	"sync"
)

// Generated collects what generators issued during one sync pass (a Vault lease, and with it
// a database user), so that a pass that does not write its Secret gives it back instead of
// leaving it live until its TTL: a Secret write that keeps failing then holds at most the
// credentials of the pass in flight, not one more set per retry.
type Generated struct {
	mu       sync.Mutex
	discards []func(context.Context)
}

type generatedKey struct{}

// WithGenerated returns a context whose generators report to the returned Generated.
func WithGenerated(ctx context.Context) (context.Context, *Generated) {
	g := &Generated{}
	return context.WithValue(ctx, generatedKey{}, g), g
}

// OnDiscard registers how to give back something a generator issued in this pass; without
// a Generated in ctx it does nothing.
func OnDiscard(ctx context.Context, discard func(context.Context)) {
	if g, ok := ctx.Value(generatedKey{}).(*Generated); ok {
		g.mu.Lock()
		g.discards = append(g.discards, discard)
		g.mu.Unlock()
	}
}

// Keep marks everything generated so far as delivered (the Secret was written).
func (g *Generated) Keep() {
	g.mu.Lock()
	g.discards = nil
	g.mu.Unlock()
}

// Discard gives back everything generated and not kept; it runs once.
func (g *Generated) Discard(ctx context.Context) {
	g.mu.Lock()
	ds := g.discards
	g.discards = nil
	g.mu.Unlock()
	for _, d := range ds {
		d(ctx)
	}
}
