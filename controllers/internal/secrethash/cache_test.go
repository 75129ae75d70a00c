package secrethash

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func secret(data map[string][]byte, annotations map[string]string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db", Annotations: annotations},
		Type:       corev1.SecretTypeOpaque, Data: data,
	}
}

// The cache keeps the hash of a Secret's values, neither the values nor the keys; the hash
// it reports is the one of the API server's data.
func TestStripValues_KeepsHashNotValues(t *testing.T) {
	data := map[string][]byte{"password": []byte("hunter2"), "user": []byte("app")}
	want := Of(corev1.SecretTypeOpaque, data)
	obj, err := StripValues(secret(map[string][]byte{"password": []byte("hunter2"), "user": []byte("app")}, nil))
	if err != nil {
		t.Fatal(err)
	}
	s := obj.(*corev1.Secret)
	for k, v := range s.Data {
		if k != "" || v != nil {
			t.Errorf("stripped Secret holds key %q (value kept: %v)", k, v != nil)
		}
	}
	if got := OfSecret(s); got != want {
		t.Errorf("hash of the stripped Secret %s, want %s (the data's)", got, want)
	}
	if HasValues(s) {
		t.Error("HasValues is true for a stripped Secret")
	}
	// A second pass (client-go may transform an object again) keeps the recorded hash.
	again, _ := StripValues(s)
	if got := OfSecret(again.(*corev1.Secret)); got != want {
		t.Errorf("hash after a second pass %s, want %s", got, want)
	}
}

// The mark on a Secret read from the API server is not trusted: someone who sets it by hand
// on a Secret whose data changed does not hide the change.
func TestStripValues_RecomputesAForgedMark(t *testing.T) {
	data := map[string][]byte{"password": []byte("edited")}
	forged := secret(map[string][]byte{"password": []byte("edited")}, map[string]string{cachedAnnotation: "0000"})
	if got := OfSecret(forged); got != Of(corev1.SecretTypeOpaque, data) {
		t.Errorf("OfSecret trusted a forged mark on a Secret with values: %s", got)
	}
	obj, _ := StripValues(forged)
	if got := OfSecret(obj.(*corev1.Secret)); got != Of(corev1.SecretTypeOpaque, data) {
		t.Errorf("StripValues kept a forged mark: %s", got)
	}
	// A Secret with empty values (as the API server returns them) is hashed as such.
	empty := secret(map[string][]byte{"k": {}}, map[string]string{cachedAnnotation: "0000"})
	obj, _ = StripValues(empty)
	if got := OfSecret(obj.(*corev1.Secret)); got != Of(corev1.SecretTypeOpaque, map[string][]byte{"k": {}}) {
		t.Errorf("empty values: hash %s", got)
	}
	// So is a Secret without data that carries the mark: only the shared mark of stripped data
	// (a key the API server refuses) makes the annotation trusted.
	none := secret(nil, map[string]string{cachedAnnotation: "0000"})
	if got := OfSecret(none); got != Of(corev1.SecretTypeOpaque, nil) {
		t.Errorf("no data, forged mark: hash %s", got)
	}
}

// Every stripped Secret shares one map for its data, and a copy gets its own: a cached
// Secret costs no map for its data, and a copy's edits stay in the copy.
func TestStripValues_SharesOneDataMap(t *testing.T) {
	a, _ := StripValues(secret(map[string][]byte{"k": []byte("1")}, nil))
	b, _ := StripValues(secret(map[string][]byte{"x": []byte("2"), "y": nil}, nil))
	sa, sb := a.(*corev1.Secret), b.(*corev1.Secret)
	if reflect.ValueOf(sa.Data).UnsafePointer() != reflect.ValueOf(sb.Data).UnsafePointer() {
		t.Error("two stripped Secrets have a data map each")
	}
	if OfSecret(sa) == OfSecret(sb) {
		t.Fatalf("different data, one hash %s", OfSecret(sa))
	}
	c := sa.DeepCopy()
	c.Data["new"] = []byte("v")
	if len(sb.Data) != 1 || HasValues(sb) {
		t.Errorf("a copy's edit reached the shared map: %v", sb.Data)
	}
	if !HasValues(c) {
		t.Error("an edited copy still reads as stripped")
	}
}

// The mark never reaches the API server: Writable removes it from a copy about to be
// written, and other annotations stay.
func TestWritable_RemovesTheMarkOnly(t *testing.T) {
	obj, _ := StripValues(secret(map[string][]byte{"k": []byte("v")}, map[string]string{"team": "a"}))
	s := obj.(*corev1.Secret).DeepCopy()
	Writable(s)
	if _, ok := s.Annotations[cachedAnnotation]; ok || s.Annotations["team"] != "a" {
		t.Errorf("annotations after Writable: %v", s.Annotations)
	}
	bare, _ := StripValues(secret(map[string][]byte{"k": []byte("v")}, nil))
	b := bare.(*corev1.Secret).DeepCopy()
	Writable(b)
	if b.Annotations != nil {
		t.Errorf("annotations after Writable of a Secret that had none: %v", b.Annotations)
	}
}

// Objects other than Secrets pass unchanged.
func TestStripValues_OtherObjects(t *testing.T) {
	cm := &corev1.ConfigMap{Data: map[string]string{"k": "v"}}
	obj, err := StripValues(cm)
	if err != nil || obj.(*corev1.ConfigMap).Data["k"] != "v" {
		t.Errorf("ConfigMap changed: %v %v", obj, err)
	}
}
