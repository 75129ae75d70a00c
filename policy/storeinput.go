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
	mu    sync.Mutex
	byUID map[types.UID]*storeInput
	byMap map[unsafe.Pointer]*storeInput // by the map's identity: the entries hold their maps
}

// storeInput is one store version's input: its map, and the OPA value of the map, made once.
type storeInput struct {
	rv   string
	m    map[string]any
	once sync.Once
	v    ast.Value
	err  error
}

// maxStoreInputs bounds the stores kept; past it the memo starts again empty.
const maxStoreInputs = 1024

// mapOf returns the input map of a store, the same map for the same version.
func (s *StoreInputs) mapOf(store esv1.GenericStore) (map[string]any, error) {
	uid, rv := store.GetUID(), store.GetResourceVersion()
	if s == nil || uid == "" || rv == "" {
		return toMap(store)
	}
	s.mu.Lock()
	e := s.byUID[uid]
	s.mu.Unlock()
	if e != nil && e.rv == rv {
		return e.m, nil
	}
	m, err := toMap(store)
	if err != nil {
		return nil, err
	}
	e = &storeInput{rv: rv, m: m}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byUID == nil || len(s.byUID) >= maxStoreInputs {
		s.byUID, s.byMap = map[types.UID]*storeInput{}, map[unsafe.Pointer]*storeInput{}
	}
	if old := s.byUID[uid]; old != nil {
		delete(s.byMap, mapID(old.m))
	}
	s.byUID[uid], s.byMap[mapID(m)] = e, e
	return m, nil
}

// value returns the OPA value of a map mapOf returned (ok false for any other map).
func (s *StoreInputs) value(m map[string]any) (v ast.Value, ok bool, err error) {
	if s == nil {
		return nil, false, nil
	}
	s.mu.Lock()
	e := s.byMap[mapID(m)]
	s.mu.Unlock()
	if e == nil {
		return nil, false, nil
	}
	e.once.Do(func() { e.v, e.err = regoValue(e.m, nil) })
	return e.v, true, e.err
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
		return ast.Number(v), nil
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
