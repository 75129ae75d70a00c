package providers

import (
	"context"
	"testing"
)

func TestGeneratedDiscardsUnlessKept(t *testing.T) {
	ctx, g := WithGenerated(context.Background())
	n := 0
	OnDiscard(ctx, func(context.Context) { n++ })
	g.Discard(ctx)
	g.Discard(ctx) // once only
	if n != 1 {
		t.Fatalf("%d discards, want 1", n)
	}
	OnDiscard(ctx, func(context.Context) { n++ })
	g.Keep()
	g.Discard(ctx)
	if n != 1 {
		t.Fatalf("a kept result was discarded")
	}
	OnDiscard(context.Background(), func(context.Context) { t.Fatal("no tracker: must not run") })
}
