package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// asEvalInput is what rego.EvalInput makes of an input (rego.parseRawInput).
func asEvalInput(t *testing.T, x any) ast.Value {
	t.Helper()
	y := x
	if err := util.RoundTripFast(&y); err != nil {
		t.Fatal(err)
	}
	v, err := ast.InterfaceToValue(y)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRegoValue_IsWhatEvalInputMakes: the Rego engines convert inputs themselves; the
// policies must see the same value rego.EvalInput would give them, null for nil maps and
// lists included (a nil list as [] would pass a rule that checks for null).
func TestRegoValue_IsWhatEvalInputMakes(t *testing.T) {
	b := pathCluster(t, "prod/payments/")
	var inputs []any
	for _, es := range []*esv1.ExternalSecret{keyES("sm", "prod/payments/db", "other"), keyES("kv2", "secret/data/x"), findES("ssm", nil), keyES("missing", "k")} {
		in, err := b.ForExternalSecret(context.Background(), es, OpLint)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, map[string]any(in))
	}
	inputs = append(inputs, map[string]any{
		"nilMap": map[string]any(nil), "nilList": []any(nil), "strings": []string{"a", "b"}, "nilStrings": []string(nil),
		"stringMap": map[string]string{"a": "b"}, "int": int64(3), "float": 1.5, "number": json.Number("7"), "bool": true,
		"nested": []any{map[string]any{"x": nil, "y": []any{}}}, "time": metav1.NewTime(time.Unix(1700000000, 0)),
		"struct": struct{ A string }{"a"}, "empty": map[string]any{},
	}, nil, "s", []any(nil))
	for i, x := range inputs {
		got, err := regoValue(x, nil)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		if want := asEvalInput(t, x); ast.Compare(got, want) != 0 {
			t.Errorf("input %d:\n got %v\nwant %v", i, got, want)
		}
	}
}

// TestStoreInputs_ShareOneInputPerStoreVersion: the ExternalSecrets of one store share its
// input until the store changes, and the policies judge them as without sharing.
func TestStoreInputs_ShareOneInputPerStoreVersion(t *testing.T) {
	ctx := context.Background()
	b := pathCluster(t, "prod/payments/")
	var sm esv1.SecretStore
	if err := b.Client.Get(ctx, types.NamespacedName{Namespace: "payments", Name: "sm"}, &sm); err != nil {
		t.Fatal(err)
	}
	if sm.ResourceVersion == "" {
		t.Fatal("the fake client gave the store no resourceVersion")
	}
	sm.UID = "uid-sm"
	memo := &StoreInputs{}
	m1, err := memo.mapOf(&sm)
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := memo.mapOf(sm.DeepCopy())
	if mapID(m1) != mapID(m2) {
		t.Error("the same store version gave two input maps")
	}
	v1, ok, err := memo.value(m1)
	if !ok || err != nil {
		t.Fatalf("no value for a shared store map (ok %v, err %v)", ok, err)
	}
	if v2, _, _ := memo.value(m2); v1 != v2 {
		t.Error("the store's value was made twice")
	}
	if want := asEvalInput(t, m1); ast.Compare(v1, want) != 0 {
		t.Errorf("store value:\n got %v\nwant %v", v1, want)
	}
	if _, ok, _ := memo.value(map[string]any{"a": "b"}); ok {
		t.Error("a map the memo did not make has a value from it")
	}
	changed := sm.DeepCopy()
	changed.ResourceVersion += "1"
	changed.Spec.Provider.AWS.Prefix = "prod/"
	m3, _ := memo.mapOf(changed)
	if mapID(m3) == mapID(m1) {
		t.Fatal("a changed store kept its old input")
	}
	if fmt.Sprint(m3["spec"]) == fmt.Sprint(m1["spec"]) {
		t.Error("the changed store's input does not show the change")
	}
	if _, ok, _ := memo.value(m1); ok {
		t.Error("the old version's map is still kept")
	}
	unstored := sm.DeepCopy()
	unstored.UID, unstored.ResourceVersion = "", ""
	a, _ := memo.mapOf(unstored)
	if c, _ := memo.mapOf(unstored); mapID(a) == mapID(c) {
		t.Error("a store without UID and resourceVersion was shared")
	}

	// Verdicts with the memo (the store's value made once) and without are the same.
	set, err := NewSet(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	giveUID(t, b, "sm")
	giveUID(t, b, "sm-billing")
	memo = &StoreInputs{}
	shared := &Builder{Client: b.Client, Stores: memo}
	for _, es := range []*esv1.ExternalSecret{keyES("sm", "prod/payments/db"), keyES("sm", "other/db"), keyES("sm-billing", "x")} {
		for range 2 {
			in, err := shared.ForExternalSecret(ctx, es, OpLint)
			if err != nil {
				t.Fatal(err)
			}
			got, err := set.Evaluate(withStoreInputs(ctx, memo), in)
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := b.ForExternalSecret(ctx, es, OpLint)
			want, err := set.Evaluate(ctx, plain)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: verdicts with shared store inputs %v, without %v", es.Spec.Data[0].RemoteRef.Key, got, want)
			}
		}
	}
	if len(memo.byUID) != 2 {
		t.Errorf("the Builder kept %d store inputs, want 2 (sm, sm-billing)", len(memo.byUID))
	}
}

// TestStoreInputs_SharedAcrossConcurrentEvaluations: the controller's workers evaluate
// ExternalSecrets of one store at once, all with its one value (run with -race).
func TestStoreInputs_SharedAcrossConcurrentEvaluations(t *testing.T) {
	ctx := context.Background()
	b := pathCluster(t, "prod/payments/")
	giveUID(t, b, "sm")
	set, err := NewSet(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	memo := &StoreInputs{}
	shared := &Builder{Client: b.Client, Stores: memo}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			es := keyES("sm", fmt.Sprintf("other/db-%d", i))
			in, err := shared.ForExternalSecret(ctx, es, OpReconcile)
			if err == nil {
				var vs []Violation
				if vs, err = set.Evaluate(withStoreInputs(ctx, memo), in); err == nil && len(vs) == 0 {
					err = fmt.Errorf("%s: no violation for a key outside the namespace's prefix", es.Spec.Data[0].RemoteRef.Key)
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// giveUID gives a store of pathCluster a UID, as the API server would (the fake client
// does not), so that StoreInputs shares its input.
func giveUID(t *testing.T, b *Builder, name string) {
	t.Helper()
	ctx := context.Background()
	var s esv1.SecretStore
	if err := b.Client.Get(ctx, types.NamespacedName{Namespace: "payments", Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	s.UID = types.UID("uid-" + name)
	if err := b.Client.(client.Client).Update(ctx, &s); err != nil {
		t.Fatal(err)
	}
}

// TestStoreInputs_ValueIsSortedBeforeItIsShared: OPA copies an object (a policy's `with
// input ... as`) without the guard it sorts the object's keys under; a shared store value
// copied by one worker while another iterates it first must not race (run with -race).
func TestStoreInputs_ValueIsSortedBeforeItIsShared(t *testing.T) {
	memo := &StoreInputs{}
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "sm", UID: "uid-sm", ResourceVersion: "1",
		Labels: map[string]string{"z": "1", "a": "2", "m": "3"}}}
	m, err := memo.mapOf(store)
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := memo.value(m)
	if !ok || err != nil {
		t.Fatalf("no shared value (ok %v, err %v)", ok, err)
	}
	meta := v.(ast.Object).Get(ast.StringTerm("metadata")).Value.(ast.Object)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			_ = meta.Copy()
		}
	}()
	for range 100 {
		_ = meta.Get(ast.StringTerm("labels")).Value.(ast.Object).Keys()
		_ = meta.Keys()
	}
	<-done
	if got := meta.Copy().Get(ast.StringTerm("labels")).Value.(ast.Object).Len(); got != 3 {
		t.Errorf("a copy of the shared value has %d labels, want 3", got)
	}
}

// TestStoreInputs_LargeStoresAreNotKept: a tenant's large stores are not held for the
// controller's life.
func TestStoreInputs_LargeStoresAreNotKept(t *testing.T) {
	memo := &StoreInputs{}
	big := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "big", UID: "uid-big", ResourceVersion: "1",
		Annotations: map[string]string{"a": string(make([]byte, maxSharedStoreBytes))}}}
	a, _ := memo.mapOf(big)
	b, _ := memo.mapOf(big)
	if mapID(a) == mapID(b) || len(memo.byUID) != 0 {
		t.Error("a store larger than maxSharedStoreBytes was kept")
	}
}
