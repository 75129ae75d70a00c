package providers

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func TestSelectProperty(t *testing.T) {
	ref := Ref{Key: "prod/db"}
	value := []byte(`{"username":"app","port":5432,"nested":{"password":"pw-1"},"list":["a","b"]}`)
	for _, tc := range []struct {
		property, want, err string
	}{
		{property: "", want: string(value)},
		{property: "username", want: "app"},
		{property: "port", want: "5432"},
		{property: "nested.password", want: "pw-1"},
		{property: "nested", want: `{"password":"pw-1"}`},
		{property: "list.1", want: "b"},
		{property: "missing", err: `property "missing" does not exist`},
	} {
		got, err := SelectProperty(value, ref, tc.property)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "prod/db") {
				t.Errorf("property %q: error %v, want one naming the key and saying %q", tc.property, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("property %q = %q, %v; want %q", tc.property, got, err, tc.want)
		}
	}
}

func TestSelectProperty_NonJSONNeverEchoesValue(t *testing.T) {
	_, err := SelectProperty([]byte("hunter2-secret"), Ref{Key: "k"}, "password")
	if err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("error %v, want 'not JSON'", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error message contains the value: %v", err)
	}
}

func TestExtractMap(t *testing.T) {
	got, err := ExtractMap([]byte(`{"a":"x","n":1,"o":{"k":"v"},"b":true}`), Ref{Key: "k"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "x", "n": "1", "o": `{"k":"v"}`, "b": "true"}
	if len(got) != len(want) {
		t.Fatalf("got %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("key %s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := ExtractMap([]byte(`["not","an","object"]`), Ref{Key: "k"}, ""); err == nil {
		t.Errorf("a JSON list was extracted as a map")
	}
	sub, err := ExtractMap([]byte(`{"db":{"user":"u"}}`), Ref{Key: "k"}, "db")
	if err != nil || string(sub["user"]) != "u" {
		t.Errorf("extract with property: %v, %v", sub, err)
	}
}

func TestDecode(t *testing.T) {
	ref := Ref{Key: "k"}
	for _, tc := range []struct {
		strategy esv1.ExternalSecretDecodingStrategy
		in, want string
		wantErr  bool
	}{
		{esv1.DecodingStrategyNone, "aGk=", "aGk=", false},
		{"", "aGk=", "aGk=", false},
		{esv1.DecodingStrategyBase64, "aGk=", "hi", false},
		{esv1.DecodingStrategyBase64, "not base64!", "", true},
		{esv1.DecodingStrategyBase64URL, "Pz8_", "???", false},
		{esv1.DecodingStrategyAuto, "aGk=", "hi", false},
		{esv1.DecodingStrategyAuto, "not base64!", "not base64!", false},
	} {
		got, err := Decode([]byte(tc.in), tc.strategy, ref)
		if (err != nil) != tc.wantErr || (!tc.wantErr && string(got) != tc.want) {
			t.Errorf("Decode(%q, %s) = %q, %v; want %q (error %v)", tc.in, tc.strategy, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestNotFoundWrapsErrNotFound(t *testing.T) {
	err := NotFound(Ref{Key: "a", Version: "v2"}, errors.New("backend said so"))
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"a" (version "v2")`) {
		t.Errorf("NotFound = %v", err)
	}
}

func FuzzSelectProperty(f *testing.F) {
	f.Add([]byte(`{"a":{"b":"c"}}`), "a.b")
	f.Add([]byte(`not json`), "x")
	f.Fuzz(func(t *testing.T, value []byte, property string) {
		_, _ = SelectProperty(value, Ref{Key: "k"}, property)
		_, _ = ExtractMap(value, Ref{Key: "k"}, property)
	})
}

func TestConvertKey(t *testing.T) {
	for _, tc := range []struct {
		in       string
		strategy esv1.ExternalSecretConversionStrategy
		want     string
	}{
		{"prod/payments/db", esv1.ConversionStrategyDefault, "prod_payments_db"},
		{"a//b c", "", "a_b_c"},
		{"ok-key.1_x", esv1.ConversionStrategyDefault, "ok-key.1_x"},
		{"a/b", esv1.ConversionStrategyUnicode, "a_U002f_b"},
	} {
		if got := ConvertKey(tc.in, tc.strategy); got != tc.want {
			t.Errorf("ConvertKey(%q, %q) = %q, want %q", tc.in, tc.strategy, got, tc.want)
		}
	}
}

func TestRewrite(t *testing.T) {
	data := map[string][]byte{"prod_db_password": []byte("x"), "prod_db_user": []byte("y")}
	got, err := Rewrite(data, []esv1.ExternalSecretRewrite{
		{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^prod_db_(.*)$", Target: "DB_$1"}},
		{Transform: &esv1.ExternalSecretRewriteTransform{Template: "{{ .value | printf \"%s_V\" }}"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got["DB_password_V"]) != "x" || string(got["DB_user_V"]) != "y" || len(got) != 2 {
		t.Errorf("Rewrite = %v", got)
	}
	if _, err := Rewrite(data, []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "(", Target: ""}}}); err == nil {
		t.Error("a broken regexp was accepted")
	}
	// A transform is a tenant's template: bounded like target.template, and sprig's
	// functions are there as in ESO.
	endless := []esv1.ExternalSecretRewrite{{Transform: &esv1.ExternalSecretRewriteTransform{Template: "{{ range 100000000000000 }}{{ end }}"}}}
	// Under the race detector on a loaded machine the deadline may come first: either limit
	// stops it.
	_, err = Rewrite(data, endless)
	msg := fmt.Sprint(err)
	stopped := strings.Contains(msg, "exceeded the limit of 100000 range iterations") ||
		strings.Contains(msg, "template deadline")
	if err == nil || !strings.Contains(msg, "rewrite[0].transform.template: failed") || !stopped {
		t.Errorf("an endless transform: %v", err)
	}
	upper := []esv1.ExternalSecretRewrite{{Transform: &esv1.ExternalSecretRewriteTransform{Template: "{{ .value | upper }}"}}}
	if got, err := Rewrite(data, upper); err != nil || string(got["PROD_DB_USER"]) != "y" {
		t.Errorf("upper: %v, %v", got, err)
	}
}

// A Secret's binary values (any bytes, UTF-8 or not) survive MarshalBytesObject and come out
// of SelectProperty and ExtractMap byte for byte: the Kubernetes provider's values.
func TestMarshalBytesObjectKeepsEveryByte(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		m := map[string][]byte{"all": all, "tls.crt": {0xff, 0xfe, '"', '\\', 0, 0x80}, "empty": {}}
		r := make([]byte, rng.IntN(64))
		for i := range r {
			r[i] = byte(rng.UintN(256))
		}
		m["random"] = r
		v := MarshalBytesObject(m)
		for k, want := range m {
			got, err := SelectProperty(v, Ref{Key: "s"}, k)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("round %d: property %q = %x, %v; want %x", n, k, got, err, want)
			}
		}
		ex, err := ExtractMap(v, Ref{Key: "s"}, "")
		if err != nil || len(ex) != len(m) {
			t.Fatalf("round %d: extract = %d keys, %v", n, len(ex), err)
		}
		for k, want := range m {
			if !bytes.Equal(ex[k], want) {
				t.Fatalf("round %d: extracted %q = %x, want %x", n, k, ex[k], want)
			}
		}
	}
}

// A rewrite regexp that matches the empty string inserts its target at every position of
// every key: it is refused, naming the limit, before the renamed keys are built (1000 keys
// of 200 bytes with a 64 KiB target would otherwise ask for 13 GB).
func TestRewriteRegexpIsBounded(t *testing.T) {
	data := map[string][]byte{}
	for i := 0; i < 1000; i++ {
		data[fmt.Sprintf("%0200d", i)] = []byte("v")
	}
	start := time.Now()
	_, err := Rewrite(data, []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "", Target: strings.Repeat("x", 64<<10)}}})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "rewrite[0].regexp: the renamed keys would exceed") {
		t.Errorf("empty-matching source: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
	_, err = Rewrite(data, []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: strings.Repeat("a", 4000), Target: ""}}})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "exceeds the rewrite limit") {
		t.Errorf("long source over many keys: %v", err)
	}
	_, err = Rewrite(data, []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: strings.Repeat("a", 5000), Target: ""}}})
	if err == nil || !strings.Contains(err.Error(), "over the limit of 4096") {
		t.Errorf("a source over the pattern limit: %v", err)
	}
	// An ordinary rename still works.
	got, err := Rewrite(map[string][]byte{"a-b": []byte("v")}, []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "-", Target: "_"}}})
	if err != nil || string(got["a_b"]) != "v" {
		t.Errorf("ordinary rename: %v, %v", got, err)
	}
}

// An extract of a value with more keys than MaxExtractKeys is refused naming the limit,
// without building the map; one at the limit is read whole.
func TestExtractMapKeyLimit(t *testing.T) {
	object := func(n int) []byte {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"k%d":1`, i)
		}
		b.WriteString("}")
		return []byte(b.String())
	}
	if m, err := ExtractMap(object(MaxExtractKeys), Ref{Key: "wide"}, ""); err != nil || len(m) != MaxExtractKeys {
		t.Errorf("at the limit: %d keys, %v", len(m), err)
	}
	_, err := ExtractMap(object(MaxExtractKeys+1), Ref{Key: "wide"}, "")
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "dataFrom.extract found more than 10000 keys") {
		t.Errorf("over the limit: %v", err)
	}
}
