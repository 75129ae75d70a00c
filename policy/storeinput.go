package policy

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// StoreInputs keeps the policy input of each store version: a store is part of the input of
// every ExternalSecret that reads from it (input.store, input.stores), and converting it
// again for each of them, to a map and then to an OPA value, was most of what policy
// evaluation allocated for 10,000 ExternalSecrets over one store (docs/performance.md). Only
// for a Builder that reads stores from the API server or its cache: a store's UID and
// resourceVersion then name one content. The maps it returns are shared: nothing may
// change them. The zero value is ready; a nil *StoreInputs keeps nothing.
type StoreInputs struct {
	mu    sync.RWMutex
	byUID map[types.UID]*storeInput
	byMap map[unsafe.Pointer]*storeInput // by the map's identity: the entries hold their maps
	bytes int                            // the kept stores' JSON size
}

// storeInput is one store version's input: its map, and the OPA value of the map, made once.
type storeInput struct {
	rv   string
	m    map[string]any
	size int // JSON bytes
	once sync.Once
	v    ast.Value
	err  error
}

// The memo's bounds: past maxStoreInputs stores or maxStoreInputBytes of them (their JSON
// size) it starts again empty, and a store larger than maxSharedStoreBytes is not kept (a
// tenant's stores can be large; unshared, each input's copy lives only for its evaluation).
const (
	maxStoreInputs      = 1024
	maxStoreInputBytes  = 16 << 20
	maxSharedStoreBytes = 256 << 10
)

// mapOf returns the input map of a store, the same map for the same version.
func (s *StoreInputs) mapOf(store esv1.GenericStore) (map[string]any, error) {
	uid, rv := store.GetUID(), store.GetResourceVersion()
	if s == nil || uid == "" || rv == "" {
		return toMap(store)
	}
	s.mu.RLock()
	e := s.byUID[uid]
	s.mu.RUnlock()
	if e != nil && e.rv == rv {
		return e.m, nil
	}
	m, err := toMap(store)
	if err != nil {
		return nil, err
	}
	size := jsonSize(m)
	if size < 0 || size > maxSharedStoreBytes {
		return m, nil // not kept: this input's own copy
	}
	e = &storeInput{rv: rv, m: m, size: size}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byUID == nil || len(s.byUID) >= maxStoreInputs || s.bytes+e.size > maxStoreInputBytes {
		s.byUID, s.byMap, s.bytes = map[types.UID]*storeInput{}, map[unsafe.Pointer]*storeInput{}, 0
	}
	if old := s.byUID[uid]; old != nil {
		delete(s.byMap, mapID(old.m))
		s.bytes -= old.size
	}
	s.byUID[uid], s.byMap[mapID(m)] = e, e
	s.bytes += e.size
	return m, nil
}

// value returns the OPA value of a map mapOf returned (ok false for any other map).
func (s *StoreInputs) value(m map[string]any) (v ast.Value, ok bool, err error) {
	if s == nil {
		return nil, false, nil
	}
	s.mu.RLock()
	e := s.byMap[mapID(m)]
	s.mu.RUnlock()
	if e == nil {
		return nil, false, nil
	}
	e.once.Do(func() {
		if e.v, e.err = regoValue(e.m, nil); e.err == nil {
			sortObjects(e.v)
		}
	})
	return e.v, true, e.err
}

// sortObjects sorts the keys of every object in v now. OPA sorts an object's keys the first
// time it iterates them (under a sync.Once), but Object.Copy, which a policy's `with input`
// runs, reads them unguarded: a value the controller's workers share must be sorted before
// it is shared, or one evaluation's copy can miss keys another is sorting.
func sortObjects(v ast.Value) {
	switch x := v.(type) {
	case ast.Object:
		x.Foreach(func(_, t *ast.Term) { sortObjects(t.Value) })
	case *ast.Array:
		x.Foreach(func(t *ast.Term) { sortObjects(t.Value) })
	}
}

// jsonSize is the size of m as JSON, -1 if it has none.
func jsonSize(m map[string]any) int {
	raw, err := json.Marshal(m)
	if err != nil {
		return -1
	}
	return len(raw)
}

// mapID is a map's identity: the pointer its copies share.
func mapID(m map[string]any) unsafe.Pointer { return reflect.ValueOf(m).UnsafePointer() }

type storeInputsKey struct{}

// withStoreInputs lets the Rego engines of an evaluation reuse the stores' OPA values.
func withStoreInputs(ctx context.Context, s *StoreInputs) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, storeInputsKey{}, s)
}

func storeInputsFrom(ctx context.Context) *StoreInputs {
	s, _ := ctx.Value(storeInputsKey{}).(*StoreInputs)
	return s
}

// regoValue converts an input to the OPA value that rego.EvalInput makes of it (a JSON
// round trip, util.RoundTripFast, then ast.InterfaceToValue: nil maps and lists are null,
// other Go types go through encoding/json) in one pass and without the round trip's copy,
// taking the value of a store's map from stores when it has it.
func regoValue(x any, stores *StoreInputs) (ast.Value, error) {
	switch v := x.(type) {
	case nil:
		return ast.Null{}, nil
	case bool:
		return ast.Boolean(v), nil
	case string:
		return ast.String(v), nil
	case json.Number:
		return ast.InterfaceToValue(v) // checked as OPA checks it
	case map[string]any:
		if v == nil {
			return ast.Null{}, nil
		}
		if sv, ok, err := stores.value(v); ok {
			return sv, err
		}
		terms := make([][2]*ast.Term, 0, len(v))
		for k, e := range v {
			ev, err := regoValue(e, stores)
			if err != nil {
				return nil, err
			}
			terms = append(terms, [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(ev)})
		}
		return ast.NewObject(terms...), nil
	case []any:
		if v == nil {
			return ast.Null{}, nil
		}
		terms := make([]*ast.Term, len(v))
		for i, e := range v {
			ev, err := regoValue(e, stores)
			if err != nil {
				return nil, err
			}
			terms[i] = ast.NewTerm(ev)
		}
		return ast.NewArray(terms...), nil
	default:
		y := x
		if err := util.RoundTripFast(&y); err != nil {
			return nil, err
		}
		return ast.InterfaceToValue(y)
	}
}
