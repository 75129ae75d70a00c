package policy

import (
	"context"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// Gate checks stores, ExternalSecrets and generators against the cluster's policies outside
// admission: at reconcile time, before any credential is used (objects created while the
// webhook was down, or before a policy existed, are caught here), and in the audit.
type Gate struct {
	Builder  *Builder
	Policies *Holder
	// Op is the operation the inputs carry (input.operation): OpReconcile when empty, OpAudit
	// for the auditor's gate.
	Op string
	// Memo, when not nil, shares a store's verdict among the ExternalSecrets synced within
	// its TTL (memo.go).
	Memo *StoreMemo
}

// op returns the operation of the gate's inputs.
func (g *Gate) op() string {
	if g.Op == "" {
		return OpReconcile
	}
	return g.Op
}

// Store returns the violations of a store.
func (g *Gate) Store(ctx context.Context, store esv1.GenericStore) ([]Violation, error) {
	set, err := g.Policies.Load(ctx, g.Builder.Client)
	if err != nil {
		return nil, err
	}
	if vs, ok := g.Memo.get(store, g.op(), set); ok {
		return vs, nil
	}
	in, err := g.Builder.ForStore(ctx, store, g.op())
	if err != nil {
		return nil, err
	}
	vs, err := set.Evaluate(ctx, in)
	if err == nil {
		g.Memo.put(store, g.op(), set, vs)
	}
	return vs, err
}

// ExternalSecret returns the violations of an ExternalSecret and of the store it reads
// from: a store that policy blocks is not used through any ExternalSecret either. With a
// nil store only the ExternalSecret's own are returned (the audit reports stores apart).
func (g *Gate) ExternalSecret(ctx context.Context, es *esv1.ExternalSecret,
	store esv1.GenericStore) ([]Violation, error) {
	var vs []Violation
	if store != nil { // nil: every entry names its own store or generator
		var err error
		if vs, err = g.Store(ctx, store); err != nil {
			return nil, err
		}
	}
	in, err := g.Builder.ForExternalSecret(ctx, es, g.op())
	if err != nil {
		return nil, err
	}
	own, err := g.evaluate(ctx, in)
	return append(vs, own...), err
}

// evaluate judges an input with the cluster's policies (loaded first if the policy
// controller has not yet).
func (g *Gate) evaluate(ctx context.Context, in Input) ([]Violation, error) {
	set, err := g.Policies.Load(ctx, g.Builder.Client)
	if err != nil {
		return nil, err
	}
	return set.Evaluate(withStoreInputs(ctx, g.Builder.Stores), in)
}
